// The new-tag phase of the bench (issue "CI at scale"): a one-line change built on a fresh runner
// (empty local cache / storage) and pushed under a NEW tag, as CI does with the commit's SHA:
//
//   shale            `shale build --push REPO:c2`: the registry as the cache, through REPO:shale-cache
//   buildah+cache    `buildah bud --layers --cache-from REPO-cache --cache-to REPO-cache` + push REPO:c2,
//                    the peer's best fresh-runner setup (buildah 1.28)
//   buildah          plain `buildah bud --layers` + push REPO:c2 (the registry holds REPO:c1's blobs)
//
// Each tool first pushes the unchanged app under REPO:c1 from a fresh runner (untimed: the seed,
// which fills its cache), then the app changes one line and a new fresh runner pushes REPO:c2.
// Bytes on the wire through the bench's counting proxy, HTTP included. Upload is compared with
// what had to go up: the changed layer, the new config and manifest, and for shale its cache
// manifest (read back from the registry).
import { join } from 'node:path';
import type { Registry } from '../test/e2e/support/registry.js';
import { changeOneLine, type BenchApp } from './app.js';
import { median } from './measure.js';
import type { CountingProxy } from './proxy.js';
import { BuildahRunner, ShaleRunner, type BuildSample, type Runner } from './tools.js';

export type NewTagTool = 'shale' | 'buildah+cache' | 'buildah';
export const NEWTAG_TOOLS: readonly NewTagTool[] = ['shale', 'buildah+cache', 'buildah'];

export interface NewTagSample {
  tool: NewTagTool;
  rep: number;
  seconds: number;
  upBytes: number;
  downBytes: number;
  /** shale: layers it built (names), its own `seconds` (--json: without process start and exit), pushed.bytes/blobs of --json. */
  built?: string[];
  inProcessSeconds?: number;
  pushedBytes?: number;
  pushedBlobs?: number;
}

export interface NewTagResult {
  title: string;
  /** Medians per tool. */
  summary: Record<NewTagTool, { n: number; seconds: number; upBytes: number; downBytes: number } | null>;
  /** shale / buildah+cache and shale / buildah, wall time. */
  ratios: { vsCache: number | null; vsPlain: number | null };
  /**
   * What shale had to send: the changed (app) layer, the image's config and manifest, and the
   * cache manifest it rewrote; `payloadBytes` is their sum.
   */
  needed: { appLayerBytes: number; configBytes: number; manifestBytes: number; cacheManifestBytes: number; payloadBytes: number } | null;
  samples: NewTagSample[];
}

interface Manifest {
  config: { size: number };
  layers: { size: number; annotations?: Record<string, string> }[];
}

async function manifestOf(reg: Registry, repo: string, tag: string): Promise<{ bytes: number; json: Manifest }> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!res.ok) throw new Error(`GET manifest ${repo}:${tag}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { bytes: body.length, json: JSON.parse(body.toString('utf8')) as Manifest };
}

/** Runs the phase: per repetition, a seed push and a measured push under a new tag, for each tool. */
export async function newTag(opts: {
  root: string;
  registry: Registry;
  proxy: CountingProxy;
  app: BenchApp;
  repeat: number;
  log: (msg: string) => void;
}): Promise<NewTagResult> {
  const { root, registry, proxy, app, repeat, log } = opts;
  const host = proxy.host;
  const samples: NewTagSample[] = [];
  const runnerOf = (tool: NewTagTool): Promise<Runner> => (tool === 'shale' ? ShaleRunner.create(root, host) : BuildahRunner.create(root));
  const repoOf = (tool: NewTagTool, rep: number): string =>
    `bench/newtag-${tool === 'shale' ? 'shale' : tool === 'buildah' ? 'buildah' : 'buildah-cache'}${rep}`;
  const push = (runner: Runner, tool: NewTagTool, ref: string, rep: number): Promise<BuildSample> => {
    if (tool === 'buildah+cache') {
      const cache = `${host}/${repoOf(tool, rep)}-cache`;
      return (runner as BuildahRunner).buildPush(app.dir, ref, ['--cache-from', cache, '--cache-to', cache]);
    }
    return runner.buildPush(app.dir, ref);
  };
  let needed: NewTagResult['needed'] = null;
  for (let rep = 1; rep <= repeat; rep++) {
    await changeOneLine(app.dir, `newtag-seed-${rep}`);
    for (const tool of NEWTAG_TOOLS) {
      const seed = await runnerOf(tool);
      try {
        const r = await push(seed, tool, `${host}/${repoOf(tool, rep)}:c1`, rep);
        log(`newtag #${rep} ${tool}: seed push (untimed) ${r.seconds.toFixed(1)} s`);
      } finally {
        await seed.dispose();
      }
    }
    await changeOneLine(app.dir, `newtag-change-${rep}`);
    for (const tool of NEWTAG_TOOLS) {
      const runner = await runnerOf(tool);
      const ref = `${host}/${repoOf(tool, rep)}:c2`;
      try {
        proxy.reset();
        const r = await push(runner, tool, ref, rep);
        const c = proxy.counts();
        const s: NewTagSample = { tool, rep, seconds: r.seconds, upBytes: c.up, downBytes: c.down };
        if (r.json) {
          s.built = r.json.layers.filter((l) => l.source === 'built').map((l) => l.name);
          s.inProcessSeconds = r.json.seconds;
          s.pushedBytes = r.json.pushed.bytes;
          s.pushedBlobs = r.json.pushed.blobs;
          const image = await manifestOf(registry, repoOf(tool, rep), 'c2');
          const cache = await manifestOf(registry, repoOf(tool, rep), 'shale-cache');
          const appLayer = image.json.layers.find((l) => l.annotations?.['dev.shale.layer.name'] === 'app');
          const appLayerBytes = appLayer?.size ?? 0;
          needed = {
            appLayerBytes,
            configBytes: image.json.config.size,
            manifestBytes: image.bytes,
            cacheManifestBytes: cache.bytes,
            payloadBytes: appLayerBytes + image.json.config.size + image.bytes + cache.bytes,
          };
        }
        samples.push(s);
        const KB = 1024;
        const own = s.inProcessSeconds === undefined ? '' : ` (${s.inProcessSeconds.toFixed(2)} s in-process)`;
        log(
          `newtag #${rep} ${tool}: ${s.seconds.toFixed(2)} s${own}, up ${(s.upBytes / KB).toFixed(1)} KB, down ${(s.downBytes / KB).toFixed(1)} KB${s.built ? `, built: ${s.built.join(',') || '-'}` : ''}`,
        );
      } finally {
        await runner.dispose();
      }
    }
  }
  const summary = {} as NewTagResult['summary'];
  for (const tool of NEWTAG_TOOLS) {
    const xs = samples.filter((x) => x.tool === tool);
    summary[tool] = xs.length
      ? { n: xs.length, seconds: median(xs.map((x) => x.seconds)), upBytes: median(xs.map((x) => x.upBytes)), downBytes: median(xs.map((x) => x.downBytes)) }
      : null;
  }
  const s = summary.shale;
  const ratio = (other: NewTagTool): number | null => (s && summary[other] ? s.seconds / summary[other]!.seconds : null);
  return {
    title: 'one-line change on a fresh runner, pushed under a new tag',
    summary,
    ratios: { vsCache: ratio('buildah+cache'), vsPlain: ratio('buildah') },
    needed,
    samples,
  };
}

/** The phase's table. */
export function newTagTable(r: NewTagResult): string {
  const KB = 1024;
  const size = (b: number): string => (b >= 10 * KB * KB ? `${(b / KB / KB).toFixed(1)} MB` : `${(b / KB).toFixed(1)} KB`);
  const head = `${'fresh runner, new tag, one-line change'.padEnd(40)} ${'n'.padStart(2)} ${'time s'.padStart(8)} ${'× shale'.padStart(8)} ${'up'.padStart(10)} ${'down'.padStart(10)}`;
  const rows = [head, '-'.repeat(head.length)];
  const shale = r.summary.shale;
  const label: Record<NewTagTool, string> = {
    shale: 'shale build --push REPO:c2',
    'buildah+cache': 'buildah --layers --cache-from/--cache-to',
    buildah: 'buildah --layers (plain)',
  };
  for (const tool of NEWTAG_TOOLS) {
    const x = r.summary[tool];
    if (!x) continue;
    const times = shale ? (x.seconds / shale.seconds).toFixed(1) : '-';
    rows.push(
      `${label[tool].padEnd(40)} ${String(x.n).padStart(2)} ${x.seconds.toFixed(2).padStart(8)} ${times.padStart(8)} ${size(x.upBytes).padStart(10)} ${size(x.downBytes).padStart(10)}`,
    );
  }
  if (r.needed) {
    const n = r.needed;
    const inProc = r.samples.filter((x) => x.tool === 'shale' && x.inProcessSeconds !== undefined).map((x) => x.inProcessSeconds!);
    if (inProc.length) rows.push(`shale's own time (--json seconds, without process start and exit): ${median(inProc).toFixed(2)} s`);
    rows.push(
      `shale had to send ${size(n.payloadBytes)}: app layer ${size(n.appLayerBytes)}, config ${size(n.configBytes)}, manifest ${size(n.manifestBytes)}, cache manifest ${size(n.cacheManifestBytes)}; up/down are bytes on the wire, HTTP included`,
    );
  }
  return rows.join('\n');
}

/** The issue's targets for this phase. */
export function newTagTargets(r: NewTagResult): { name: string; target: string; measured: string; pass: boolean | null }[] {
  const s = r.summary.shale;
  const n = r.needed;
  const up = s && n ? s.upBytes / n.payloadBytes : null;
  return [
    {
      name: 'new tag, fresh runner: time vs buildah+cache',
      target: '≤ 0.1×',
      measured: r.ratios.vsCache === null ? 'not measured' : `${r.ratios.vsCache.toFixed(3)}×`,
      pass: r.ratios.vsCache === null ? null : r.ratios.vsCache <= 0.1,
    },
    {
      name: 'new tag, fresh runner: upload',
      target: '≤ 1.2× changed layer + manifests',
      measured: up === null ? 'not measured' : `${up.toFixed(2)}× (wire, HTTP included)`,
      pass: up === null ? null : up <= 1.2,
    },
    {
      name: 'new tag, fresh runner: download',
      target: '< 1 MB',
      measured: s ? `${(s.downBytes / 1024).toFixed(1)} KB` : 'not measured',
      pass: s ? s.downBytes < 1024 * 1024 : null,
    },
  ];
}

export const newTagDir = (root: string): string => join(root, 'newtag-app');
