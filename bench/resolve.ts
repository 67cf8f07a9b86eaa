// The resolution phase of `npm run bench` (the resolver issue): the same top-level
// requirements.txt resolved by shale (`shale lock`) and by pip (`pip install --dry-run
// --ignore-installed --report -`), side by side, against the same local index (PEP 691 JSON +
// PEP 503 HTML + PEP 658 .metadata, test/support/simple-index.ts) serving every wheel the bench
// and the e2e tests repack (32 projects), with PyPI's caching headers (BENCH_INDEX=pypi, the
// default): project pages with an ETag and `Cache-Control: max-age=600`, files and .metadata
// `max-age=365000000, immutable` (added by a small proxy in front of the test index), so that each
// tool's HTTP cache can do what it does against PyPI. BENCH_INDEX=plain: the test index as it is
// (pages with an ETag only; files with an ETag and Last-Modified). Then the no-op rebuild+push of
// the same project while it is still unlocked (`shale build` resolves it on the spot each time).
//
//   cold   pip: a fresh --cache-dir; shale: a fresh --cache-dir (it also resolves the base image
//          from the registry and reads its libc from the base layer: part of the honest cost)
//   warm   the same two caches again, a new output file (no pins to prefer: a full resolution)
//   noop   `shale build APP --push REF` with the cache of an earlier build of the same project
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { normalizeName } from '../src/python/names.js';
import { run } from '../test/e2e/support/exec.js';
import type { Registry } from '../test/e2e/support/registry.js';
import { ensureRealWheels, ensureRepackedWheels } from '../test/e2e/support/wheels.js';
import { startSimpleIndex, type SimpleIndex } from '../test/support/simple-index.js';
import { BENCH_WHEELS } from './app.js';
import { median, timed } from './measure.js';
import { ShaleRunner } from './tools.js';

/** The requirements, as people write them for `pip install -r`: top-level names, a few ranges. */
export const RESOLVE_REQUIREMENTS: readonly string[] = ['Flask>=3', 'numpy', 'pydantic>=2', 'boto3', 'requests', 'PyYAML'];

type ResolveTool = 'shale' | 'pip';
type ResolveScenario = 'cold' | 'warm' | 'noop';

/** One measured command of the phase. */
export interface ResolveSample {
  tool: ResolveTool;
  scenario: ResolveScenario;
  rep: number;
  seconds: number;
  rssMb: number;
  /** Requests the index answered during the command. */
  indexRequests: number;
  /** Packages resolved (the lock, pip's report) or installed (the build's annotation). */
  packages: number;
}

export interface ResolveStat {
  n: number;
  /** Median wall time, process start to exit. */
  seconds: number;
  /** The largest peak RSS (GNU time -v). */
  rssMb: number;
  /** Median requests to the index. */
  indexRequests: number;
}

/** One scenario, both tools; `ratio` is shale / pip seconds. */
export interface ResolvePair {
  shale: ResolveStat | null;
  pip: ResolveStat | null;
  ratio: number | null;
}

export interface ResolveResult {
  title: string;
  requirements: readonly string[];
  /** What the index serves, and with which caching headers (`headers`: BENCH_INDEX). */
  index: { projects: number; files: number; wheelBytes: number; headers: IndexHeaders; pageCacheControl: string | null; fileCacheControl: string | null };
  /** The interpreter pip ran on (its version line). */
  pip: string;
  cold: ResolvePair;
  warm: ResolvePair;
  noop: {
    shale: ResolveStat | null;
    /** The build before the no-op ones: resolve, build and push the unlocked project, cold. */
    firstBuildSeconds: number;
    /** Layers any no-op build built (should be none). */
    builtLayers: string[];
  };
  /** Package counts: shale's lock, pip's report, the first build's `dev.shale.python.packages`. */
  packages: { shale: number | null; pip: number | null; build: number | null };
  /** Every way a run's packages (name==version) differ from pip's first report; empty when all agree. */
  mismatches: string[];
  samples: ResolveSample[];
}

/** `pypi`: PyPI's caching headers; `plain`: the test index's own. */
export type IndexHeaders = 'pypi' | 'plain';

/** What pypi.org says on project pages, and files.pythonhosted.org on files and .metadata. */
const PYPI_PAGE_MAX_AGE = 600;
const PYPI_FILE_CACHE_CONTROL = 'max-age=365000000, immutable, public';

/** BENCH_INDEX: `pypi` (default) or `plain`. */
export function indexHeaders(value = process.env['BENCH_INDEX']): IndexHeaders {
  if (value === undefined || value === '' || value === 'pypi') return 'pypi';
  if (value === 'plain') return 'plain';
  throw new Error(`BENCH_INDEX=${value}: "pypi" (PyPI's caching headers, the default) or "plain" (the test index's own)`);
}

/** The index to give the tools: the test index, or (pypi) a proxy in front of it adding files' Cache-Control. */
async function serveIndex(dir: string, headers: IndexHeaders): Promise<{ index: SimpleIndex; url: string; close(): Promise<void> }> {
  if (headers === 'plain') {
    const index = await startSimpleIndex([dir]);
    return { index, url: index.url, close: () => index.close() };
  }
  const index = await startSimpleIndex([dir], { maxAge: PYPI_PAGE_MAX_AGE });
  const target = new URL(index.url);
  const server = createServer((req, res) => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const h = { ...r.headers };
      if ((req.url ?? '').startsWith('/files/') && (r.statusCode === 200 || r.statusCode === 206)) h['cache-control'] = PYPI_FILE_CACHE_CONTROL;
      res.writeHead(r.statusCode ?? 502, h);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    index,
    url: `http://127.0.0.1:${port}${target.pathname}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await index.close();
    },
  };
}

/** What the phase needs from the bench: where to work, the registry, the time budget. */
export interface ResolveContext {
  root: string;
  registry: Registry;
  repeat: number;
  /** Whether another repetition fits in the time budget. */
  fits(): boolean;
  /** The first repetition's seconds, for the budget. */
  firstRep(seconds: number): void;
  skipped: string[];
  log(msg: string): void;
  /** Node options for shale's runs (BENCH_CPU_PROF: `--cpu-prof --cpu-prof-dir=DIR`). */
  nodeArgs?: readonly string[];
}

const PIP_ENV: Record<string, string | undefined> = {
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_INPUT: '1',
  PIP_CONFIG_FILE: '/dev/null',
  PIP_INDEX_URL: undefined,
  PIP_EXTRA_INDEX_URL: undefined,
  PIP_FIND_LINKS: undefined,
  PIP_NO_INDEX: undefined,
  PIP_CACHE_DIR: undefined,
  PIP_NO_CACHE_DIR: undefined,
};

/**
 * One directory of the bench's wheels and the e2e set's (boto3 and its dependencies are only in
 * the latter), each file once (symlinks), for the index to serve.
 */
async function indexDir(dir: string): Promise<{ files: number; wheelBytes: number }> {
  await mkdir(dir, { recursive: true });
  let files = 0;
  let wheelBytes = 0;
  for (const set of [await ensureRepackedWheels(BENCH_WHEELS), await ensureRealWheels()]) {
    for (const f of await readdir(set.dir)) {
      if (!f.endsWith('.whl')) continue;
      const made = await symlink(join(set.dir, f), join(dir, f)).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false;
          throw e;
        },
      );
      if (!made) continue;
      files++;
      wheelBytes += (await stat(join(set.dir, f))).size;
    }
  }
  return { files, wheelBytes };
}

/** The project: shale.toml on the bench base (through SHALE_REGISTRY_MIRRORS), a top-level requirements.txt. */
async function writeApp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'shale.toml'),
    'name = "bench-resolve"\nbase = "python:3.11-slim"\npython = "3.11"\nworkdir = "/app"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\n',
  );
  await writeFile(join(dir, 'requirements.txt'), `# as people write it\n${RESOLVE_REQUIREMENTS.join('\n')}\n`);
  await writeFile(join(dir, 'main.py'), 'import boto3, flask, numpy, pydantic, requests, yaml\nprint("ok", flask.__version__, numpy.__version__)\n');
  return dir;
}

/**
 * The Python that runs pip: BENCH_PIP_PYTHON (e.g. a venv's bin/python with another pip), else
 * python3's interpreter itself, not a pyenv shim (a bash script that would add its start-up to pip's time).
 */
async function pythonExecutable(): Promise<string> {
  const chosen = process.env['BENCH_PIP_PYTHON'];
  if (chosen) return chosen;
  return (await run('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
}

/** `name==version`, normalized and sorted. */
const pins = (xs: { name: string; version: string }[]): string[] => xs.map((x) => `${normalizeName(x.name)}==${x.version}`).sort();

/**
 * pip's dry-run resolution; `pins` from its installation report. `--trusted-host`: pip caches
 * HTTP responses only from HTTPS and trusted hosts; without it a plain-HTTP index gets no cache at
 * all and pip's warm run would be a second cold one.
 */
async function pipResolve(
  python: string,
  requirements: string,
  indexUrl: string,
  cacheDir: string,
): Promise<{ seconds: number; rssMb: number; pins: string[] }> {
  const args = ['--index-url', indexUrl, '--trusted-host', new URL(indexUrl).hostname, '--cache-dir', cacheDir];
  const t = await timed(python, ['-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--report', '-', '-r', requirements, '--quiet', ...args], {
    env: PIP_ENV,
  });
  const report = JSON.parse(t.stdout) as { install?: { metadata: { name: string; version: string } }[] };
  return { seconds: t.seconds, rssMb: t.rssMb, pins: pins((report.install ?? []).map((i) => i.metadata)) };
}

/** The packages of a pylock.toml. */
async function lockPins(file: string): Promise<string[]> {
  const doc = parseToml(await readFile(file, 'utf8')) as { packages?: { name: string; version: string }[] };
  return pins(doc.packages ?? []);
}

/** `dev.shale.python.packages` of a pushed single-platform image, straight from the registry. */
async function imagePins(reg: Registry, repo: string, tag: string): Promise<string[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (!res.ok) throw new Error(`GET manifest ${repo}:${tag}: HTTP ${res.status}`);
  const m = (await res.json()) as { annotations?: Record<string, string> };
  return (m.annotations?.['dev.shale.python.packages'] ?? '')
    .split(' ')
    .filter(Boolean)
    .map((p) => {
      const [name = '', version = ''] = p.split('==');
      return `${normalizeName(name)}==${version}`;
    })
    .sort();
}

/** How `got` differs from `want` ("what: +a==1 -b==2"), or undefined when they are the same. */
function diff(what: string, got: string[], want: string[]): string | undefined {
  const w = new Set(want);
  const g = new Set(got);
  const extra = got.filter((x) => !w.has(x)).map((x) => `+${x}`);
  const missing = want.filter((x) => !g.has(x)).map((x) => `-${x}`);
  return extra.length || missing.length ? `${what}: ${[...extra, ...missing].join(' ')}` : undefined;
}

function summarize(xs: ResolveSample[]): ResolveStat | null {
  if (!xs.length) return null;
  return {
    n: xs.length,
    seconds: median(xs.map((x) => x.seconds)),
    rssMb: Math.max(...xs.map((x) => x.rssMb)),
    indexRequests: median(xs.map((x) => x.indexRequests)),
  };
}

function pair(samples: ResolveSample[], scenario: ResolveScenario): ResolvePair {
  const shale = summarize(samples.filter((s) => s.tool === 'shale' && s.scenario === scenario));
  const pip = summarize(samples.filter((s) => s.tool === 'pip' && s.scenario === scenario));
  return { shale, pip, ratio: shale && pip ? shale.seconds / pip.seconds : null };
}

/** Runs the phase: repetitions of pip cold, shale cold, pip warm, shale warm and a no-op rebuild. */
export async function resolution(ctx: ResolveContext): Promise<ResolveResult> {
  const dir = join(ctx.root, 'resolve');
  const wheels = await indexDir(join(dir, 'index'));
  const headers = indexHeaders();
  const server = await serveIndex(join(dir, 'index'), headers);
  const index = server.index;
  const samples: ResolveSample[] = [];
  const mismatches: string[] = [];
  const runners: ShaleRunner[] = [];
  try {
    const app = await writeApp(join(dir, 'app'));
    const requirements = join(app, 'requirements.txt');
    const python = await pythonExecutable();
    const pipVersion = (await run(python, ['-m', 'pip', '--version'], { env: PIP_ENV })).stdout.trim();
    const shaleOpts = { env: { PIP_INDEX_URL: server.url }, ...(ctx.nodeArgs ? { nodeArgs: ctx.nodeArgs } : {}) };
    const newRunner = async (): Promise<ShaleRunner> => {
      const r = await ShaleRunner.create(dir, ctx.registry.host, shaleOpts);
      runners.push(r);
      return r;
    };
    let reference: string[] | undefined;
    /** Runs one command, counting the index's requests; records the sample and checks its packages. */
    const measure = async (
      tool: ResolveTool,
      scenario: ResolveScenario,
      rep: number,
      cmd: () => Promise<{ seconds: number; rssMb: number; pins: string[] }>,
    ): Promise<void> => {
      const before = index.requests.length;
      const r = await cmd();
      const s: ResolveSample = {
        tool,
        scenario,
        rep,
        seconds: r.seconds,
        rssMb: r.rssMb,
        indexRequests: index.requests.length - before,
        packages: r.pins.length,
      };
      samples.push(s);
      reference ??= r.pins;
      const d = diff(`${tool} ${scenario} #${rep} vs pip`, r.pins, reference);
      if (d) {
        mismatches.push(d);
        ctx.log(`RESOLUTION MISMATCH: ${d}`);
      }
      ctx.log(
        `resolve ${scenario} #${rep} ${tool}: ${s.seconds.toFixed(2)} s, ${s.packages} packages, ${s.indexRequests} index requests, RSS ${s.rssMb.toFixed(0)} MB`,
      );
    };

    // The unlocked project built once, so that the no-op rebuilds below have its cache. Each no-op
    // build's packages (its image's annotation) are checked against pip's like the locks'.
    const builder = await newRunner();
    const ref = `${ctx.registry.host}/bench/resolve:v1`;
    const first = await builder.buildPush(app, ref);
    const built = await imagePins(ctx.registry, 'bench/resolve', 'v1');
    ctx.log(`resolve: first build of the unlocked project ${first.seconds.toFixed(2)} s, ${built.length} packages in the image`);
    const builtLayers = new Set<string>();

    for (let i = 1; i <= ctx.repeat; i++) {
      if (i > 1 && !ctx.fits()) {
        ctx.skipped.push(`resolve #${i}+ (time budget)`);
        break;
      }
      const t0 = Date.now();
      const pipCache = await mkdtemp(join(dir, 'pip-cache-'));
      const lockRunner = await newRunner();
      try {
        await measure('pip', 'cold', i, () => pipResolve(python, requirements, server.url, pipCache));
        const lock = async (): Promise<{ seconds: number; rssMb: number; pins: string[] }> => {
          const out = join(dir, `pylock-${i}-${samples.length}.toml`);
          const r = await lockRunner.lock(app, out);
          return { seconds: r.seconds, rssMb: r.rssMb, pins: await lockPins(out) };
        };
        await measure('shale', 'cold', i, lock);
        await measure('pip', 'warm', i, () => pipResolve(python, requirements, server.url, pipCache));
        await measure('shale', 'warm', i, lock);
        await measure('shale', 'noop', i, async () => {
          const r = await builder.buildPush(app, ref);
          for (const l of r.json?.layers ?? []) if (l.source === 'built') builtLayers.add(l.name);
          return { seconds: r.seconds, rssMb: r.rssMb, pins: await imagePins(ctx.registry, 'bench/resolve', 'v1') };
        });
      } finally {
        await rm(pipCache, { recursive: true, force: true });
      }
      if (i === 1) ctx.firstRep((Date.now() - t0) / 1000);
    }

    if (builtLayers.size) ctx.log(`resolve: a no-op rebuild built layers: ${[...builtLayers].join(', ')}`);
    const count = (tool: ResolveTool): number | null => samples.find((s) => s.tool === tool && s.scenario !== 'noop')?.packages ?? null;
    const projects = new Set((await readdir(join(dir, 'index'))).map((f) => normalizeName(f.split('-')[0] ?? ''))).size;
    return {
      title: 'resolve top-level requirements: shale lock vs pip install --dry-run --report (same local index)',
      requirements: RESOLVE_REQUIREMENTS,
      index: {
        projects,
        files: wheels.files,
        wheelBytes: wheels.wheelBytes,
        headers,
        pageCacheControl: headers === 'pypi' ? `max-age=${PYPI_PAGE_MAX_AGE}, public` : null,
        fileCacheControl: headers === 'pypi' ? PYPI_FILE_CACHE_CONTROL : null,
      },
      pip: pipVersion,
      cold: pair(samples, 'cold'),
      warm: pair(samples, 'warm'),
      noop: { shale: summarize(samples.filter((s) => s.scenario === 'noop')), firstBuildSeconds: first.seconds, builtLayers: [...builtLayers] },
      packages: { shale: count('shale'), pip: count('pip'), build: built.length },
      mismatches,
      samples,
    };
  } finally {
    await server.close();
    for (const r of runners) await r.dispose();
  }
}

/** A target line, as run.ts prints and records them. */
export interface ResolveTarget {
  name: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

/** The issue's targets: cold ≤ 0.5× pip, warm ≤ 0.1× pip, the unlocked no-op < 0.3 s, and pip's packages. */
export function resolveTargets(r: ResolveResult | undefined): ResolveTarget[] {
  const ratio = (p: ResolvePair | undefined, max: number, name: string): ResolveTarget => ({
    name,
    target: `≤ ${max}× pip's time`,
    measured:
      p?.ratio != null && p.shale && p.pip ? `${p.ratio.toFixed(3)}× (${p.shale.seconds.toFixed(2)} s vs ${p.pip.seconds.toFixed(2)} s)` : 'not measured',
    pass: p?.ratio != null ? p.ratio <= max : null,
  });
  const noop = r?.noop.shale;
  return [
    ratio(r?.cold, 0.5, 'resolution, cold: time'),
    ratio(r?.warm, 0.1, 'resolution, warm: time'),
    {
      name: 'no-op rebuild, unlocked project',
      target: '< 0.3 s',
      measured: noop ? `${noop.seconds.toFixed(2)} s` : 'not measured',
      pass: noop ? noop.seconds < 0.3 : null,
    },
    {
      name: 'resolution: same packages as pip',
      target: "every run = pip's name==version set",
      measured: r
        ? r.mismatches.length
          ? `${r.mismatches.length} MISMATCH(ES): ${r.mismatches.join('; ')}`
          : `${r.packages.pip} packages, all agree`
        : 'not measured',
      pass: r ? r.mismatches.length === 0 : null,
    },
  ];
}

/** The phase's rows for the printed table. */
export function resolveTable(r: ResolveResult): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const lpad = (s: string, n: number): string => s.padStart(n);
  const head = `${pad(`resolution (${r.requirements.length} top-level → ${r.packages.pip ?? '?'} packages)`, 40)} ${pad('tool', 6)} ${lpad('n', 2)} ${lpad('time s', 8)} ${lpad('RSS MB', 7)} ${lpad('index reqs', 11)}`;
  const rows = [head, '-'.repeat(head.length)];
  const row = (title: string, tool: string, s: ResolveStat): string =>
    `${pad(title, 40)} ${pad(tool, 6)} ${lpad(String(s.n), 2)} ${lpad(s.seconds.toFixed(2), 8)} ${lpad(s.rssMb.toFixed(0), 7)} ${lpad(String(s.indexRequests), 11)}`;
  for (const [title, p] of [
    ['cold (empty caches)', r.cold],
    ['warm (caches kept)', r.warm],
  ] as const) {
    if (p.pip) rows.push(row(title, 'pip', p.pip));
    if (p.shale) rows.push(row(p.pip ? '' : title, 'shale', p.shale));
    if (p.ratio !== null) rows.push(`${pad('', 40)} ${pad('ratio', 6)} ${lpad('', 2)} ${lpad(`${p.ratio.toFixed(3)}×`, 8)}`);
  }
  if (r.noop.shale) rows.push(row('no-op rebuild+push, unlocked project', 'shale', r.noop.shale));
  return rows.join('\n');
}
