// The fault phase of the bench (issue "CI at scale"): the bench's image pushed through the e2e
// fault-injecting proxy (test/e2e/support/fault-proxy.ts) to a second, empty registry, so every
// blob (the base layer too) is uploaded, under three conditions:
//
//   clean    no faults: the baseline time and bytes
//   mix      500 on every 4th, a connection reset mid-body on every 6th, 429 on every 9th upload request
//   outage   every request answered 503 for 30 s from the 4th upload request on, connections in
//            flight cut (a registry restarting, a load balancer failing over)
//
// Each push is by a warm runner (the layers are in its cache: the time is the push's) to a new
// repository, with the default retry budget (60 s). Reported: wall time, and the body bytes of
// upload requests the proxy read (what shale sent of blobs, resent bytes included) against the
// image's bytes (its config and layers). Every pushed image is pulled back with skopeo, which
// checks each blob's digest.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../test/e2e/support/exec.js';
import { FAULT_MIX, startFaultProxy, type Fault } from '../test/e2e/support/fault-proxy.js';
import { startRegistry, type Registry } from '../test/e2e/support/registry.js';
import { generateApp } from './app.js';
import { median } from './measure.js';
import { ShaleRunner } from './tools.js';

type FaultScenario = 'clean' | 'mix' | 'outage';
const SCENARIOS: readonly FaultScenario[] = ['clean', 'mix', 'outage'];
const UPLOADS = /\/blobs\/uploads\//;
const OUTAGE_MS = 30_000;
const FAULTS: Record<FaultScenario, readonly Fault[]> = {
  clean: [],
  mix: FAULT_MIX,
  outage: [{ path: UPLOADS, kind: 'outage', skip: 3, times: 1, durationMs: OUTAGE_MS }],
};

/** One push under one condition. */
export interface FaultSample {
  scenario: FaultScenario;
  rep: number;
  /** Wall time of `shale build --push` (warm cache: the push's time). */
  seconds: number;
  /** Body bytes of the PATCH/PUT upload requests the proxy read: what shale sent of blobs, resent ones included. */
  sentBytes: number;
  /** sentBytes / the image's bytes. */
  ratio: number;
  /** Requests on upload sessions (`/blobs/uploads/`). */
  uploadRequests: number;
  /** Requests the proxy failed (status, reset, outage), on any path: during an outage, HEADs and pings too. */
  faulted: number;
  /** shale's own count (`pushed.bytes` of --json). */
  pushedBytes: number;
  digest: string;
}

export interface FaultsResult {
  title: string;
  /** The image: blobs (config + layers) and their bytes, all of which each push uploads. */
  image: { blobs: number; bytes: number };
  outageSeconds: number;
  /** Medians per scenario. */
  summary: Record<FaultScenario, { n: number; seconds: number; sentBytes: number; ratio: number } | null>;
  samples: FaultSample[];
}

/** The blobs of a pushed image (read straight from the registry): how many, and their bytes. */
async function imageBlobs(target: Registry, repo: string, tag: string): Promise<{ blobs: number; bytes: number }> {
  const res = await fetch(`${target.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  if (!res.ok) throw new Error(`GET manifest ${repo}:${tag}: HTTP ${res.status}`);
  const m = (await res.json()) as { config: { size: number }; layers: { size: number }[] };
  return { blobs: 1 + m.layers.length, bytes: m.config.size + m.layers.reduce((a, l) => a + l.size, 0) };
}

/** Pulls the image back with skopeo: fails unless every blob is there with its digest. */
async function pullBack(target: Registry, repo: string, tag: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-bench-pulled-'));
  try {
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${target.host}/${repo}:${tag}`, `oci:${dir}:x`], {
      timeoutMs: 5 * 60_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the phase: a second registry, the bench app built once by a runner kept warm, then each
 * scenario `repeat` times. `registry` holds the bench base (the runner's mirror).
 */
export async function faults(opts: { root: string; registry: Registry; repeat: number; log: (msg: string) => void }): Promise<FaultsResult> {
  const { root, registry, repeat, log } = opts;
  const target = await startRegistry();
  const runner = await ShaleRunner.create(root, registry.host);
  try {
    const app = await generateApp(join(root, 'faults-app'), `${registry.host}/library/python:3.11-slim`);
    log(`faults: warming the runner's cache (a build+push straight to the second registry)`);
    await runner.buildPush(app.dir, `${target.host}/bench/faults-warm:v1`);
    const image = await imageBlobs(target, 'bench/faults-warm', 'v1');
    log(`faults: the image has ${image.blobs} blobs, ${(image.bytes / (1 << 20)).toFixed(1)} MB; every push below uploads all of them`);
    const samples: FaultSample[] = [];
    for (let rep = 1; rep <= repeat; rep++) {
      for (const scenario of SCENARIOS) {
        const proxy = await startFaultProxy(target.host, [...FAULTS[scenario]]);
        const repo = `bench/faults-${scenario}${rep}`;
        try {
          const r = await runner.buildPush(app.dir, `${proxy.host}/${repo}:v1`);
          await pullBack(target, repo, 'v1');
          const uploads = proxy.log.filter((e) => UPLOADS.test(e.path));
          const s: FaultSample = {
            scenario,
            rep,
            seconds: r.seconds,
            sentBytes: proxy.uploadBytes(),
            ratio: proxy.uploadBytes() / image.bytes,
            uploadRequests: uploads.length,
            faulted: proxy.log.filter((e) => e.fault !== undefined).length,
            pushedBytes: r.json?.pushed.bytes ?? NaN,
            digest: r.digest ?? '',
          };
          samples.push(s);
          log(
            `faults ${scenario} #${rep}: ${s.seconds.toFixed(1)} s, sent ${(s.sentBytes / (1 << 20)).toFixed(1)} MB = ${s.ratio.toFixed(3)}× the image; ${s.faulted} of ${proxy.log.length} requests failed by the proxy (${s.uploadRequests} on upload sessions)`,
          );
        } finally {
          await proxy.stop();
        }
      }
    }
    const summary = {} as FaultsResult['summary'];
    for (const sc of SCENARIOS) {
      const xs = samples.filter((x) => x.scenario === sc);
      summary[sc] = xs.length
        ? { n: xs.length, seconds: median(xs.map((x) => x.seconds)), sentBytes: median(xs.map((x) => x.sentBytes)), ratio: median(xs.map((x) => x.ratio)) }
        : null;
    }
    return { title: 'pushes under registry faults (shale; the bench image to an empty registry)', image, outageSeconds: OUTAGE_MS / 1000, summary, samples };
  } finally {
    await runner.dispose();
    await target.stop();
  }
}

/** The phase's table: time, bytes sent and their ratio to the image, per scenario. */
export function faultsTable(r: FaultsResult): string {
  const MB = 1 << 20;
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lpad = (s: string, n: number): string => s.padStart(n);
  const title: Record<FaultScenario, string> = {
    clean: 'no faults',
    mix: '500/4th + reset/6th + 429/9th',
    outage: `${r.outageSeconds} s outage (503, cut)`,
  };
  const head = `${pad('push of the bench image', 34)} ${lpad('n', 2)} ${lpad('time s', 8)} ${lpad('sent MB', 9)} ${lpad('× image', 8)}`;
  const rows = [head, '-'.repeat(head.length)];
  for (const sc of SCENARIOS) {
    const s = r.summary[sc];
    if (s)
      rows.push(
        `${pad(title[sc], 34)} ${lpad(String(s.n), 2)} ${lpad(s.seconds.toFixed(1), 8)} ${lpad((s.sentBytes / MB).toFixed(1), 9)} ${lpad(s.ratio.toFixed(3), 8)}`,
      );
  }
  rows.push(
    `image: ${r.image.blobs} blobs, ${(r.image.bytes / MB).toFixed(1)} MB (config and layers, base included); sent = body bytes of upload requests read by the proxy`,
  );
  return rows.join('\n');
}

/** The targets for this phase. */
export function faultsTargets(r: FaultsResult): { name: string; target: string; measured: string; pass: boolean | null }[] {
  const mix = r.summary.mix;
  const outage = r.summary.outage;
  return [
    { name: 'fault mix: push completes', target: 'completes', measured: mix ? `${mix.seconds.toFixed(1)} s` : 'not measured', pass: mix ? true : null },
    {
      name: 'fault mix: bytes sent',
      target: '< 1.5× the image',
      measured: mix ? `${mix.ratio.toFixed(3)}×` : 'not measured',
      pass: mix ? mix.ratio < 1.5 : null,
    },
    {
      name: `${r.outageSeconds} s outage: push completes`,
      target: 'completes',
      measured: outage ? `${outage.seconds.toFixed(1)} s (${outage.ratio.toFixed(3)}× the image sent)` : 'not measured',
      pass: outage ? true : null,
    },
  ];
}
