// Real wheels for e2e tests without PyPI, made by the scripts in scripts/fixtures/ and cached
// under the test cache dir: wheels repacked from this machine's Python, and pure wheels made
// from Debian's python3-* packages for the FastAPI example.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedDir, cacheKey, repoRoot } from './cache.js';
import { requireTools, run } from './exec.js';

/**
 * The big real set: native (numpy, scipy, pydantic_core, PyYAML, MarkupSafe, charset-normalizer)
 * and pure packages, with every dependency, so `pip install --no-index -r` of it succeeds.
 */
export const REAL_WHEEL_NAMES: readonly string[] = [
  'numpy',
  'scipy',
  'boto3',
  'botocore',
  's3transfer',
  'jmespath',
  'python-dateutil',
  'six',
  'urllib3',
  'pydantic',
  'pydantic_core',
  'annotated-types',
  'typing_extensions',
  'typing-inspection',
  'Flask',
  'Werkzeug',
  'Jinja2',
  'MarkupSafe',
  'itsdangerous',
  'click',
  'blinker',
  'PyYAML',
  'requests',
  'certifi',
  'idna',
  'charset-normalizer',
];

export interface WheelSet {
  /** Directory of .whl files (a `--find-links` directory). Shared: do not write into it. */
  dir: string;
  /** `dir/requirements.txt`: `name==version --hash=sha256:...` for every wheel. */
  requirements: string;
}

/** The interpreter whose site-packages are repacked: `$SHALE_TEST_PYTHON`, else `python3`. */
function python(): string {
  return process.env['SHALE_TEST_PYTHON'] ?? 'python3';
}

function scriptText(...names: string[]): string {
  return names.map((n) => readFileSync(join(repoRoot(), 'scripts', 'fixtures', n), 'utf8')).join('\0');
}

function wheelSet(dir: string): WheelSet {
  return { dir, requirements: join(dir, 'requirements.txt') };
}

/**
 * Repacks `names` (installed in the machine's Python) into deterministic wheels, once per set of
 * installed versions. `ensureRealWheels()` is this for REAL_WHEEL_NAMES (~70 MB of wheels).
 */
export async function ensureRepackedWheels(names: readonly string[]): Promise<WheelSet> {
  requireTools('python3');
  const script = join(repoRoot(), 'scripts', 'fixtures', 'repack_wheels.py');
  // The versions (and RECORD paths) installed now are part of the key: an upgrade rebuilds.
  const { stdout: versions } = await run(python(), [script, '--versions', ...names]);
  const key = cacheKey(scriptText('repack_wheels.py', 'wheelzip.py'), versions);
  const dir = await cachedDir(`wheels/repacked-${key}`, async (tmp) => {
    await run(python(), [script, '--out', tmp, ...names], { timeoutMs: 10 * 60_000 });
  });
  return wheelSet(dir);
}

/** numpy, scipy, boto3 (+deps), pydantic 2 (+core), Flask (+deps), PyYAML, requests (+deps). */
export function ensureRealWheels(): Promise<WheelSet> {
  return ensureRepackedWheels(REAL_WHEEL_NAMES);
}

/**
 * Pure py3-none-any wheels of FastAPI 0.92, Starlette, uvicorn (with its console script),
 * pydantic 1.10, anyio, ... made from Debian bookworm's packages (needs apt's package lists).
 */
export async function ensureFastapiWheels(): Promise<WheelSet> {
  requireTools('python3', 'apt-get', 'dpkg-deb');
  const script = join(repoRoot(), 'scripts', 'fixtures', 'debian_wheels.py');
  // Keyed by the scripts only: Debian stable point releases rarely touch these, and a cached
  // set keeps one machine's runs comparable. Delete the cache dir to pick up a new release.
  const key = cacheKey(scriptText('debian_wheels.py', 'wheelzip.py'));
  const dir = await cachedDir(`wheels/debian-fastapi-${key}`, async (tmp) => {
    await run('python3', [script, '--out', tmp], { timeoutMs: 10 * 60_000 });
  });
  return wheelSet(dir);
}

/** Total size in bytes of the .whl files in a set (for reports and benchmarks). */
export async function wheelBytes(set: WheelSet): Promise<number> {
  let total = 0;
  for (const f of await readdir(set.dir)) {
    if (f.endsWith('.whl')) total += (await stat(join(set.dir, f))).size;
  }
  return total;
}

/**
 * Native PyYAML 6.0 wheels for both test platforms (`...-cp311-cp311-linux_x86_64.whl` and
 * `...-linux_aarch64.whl`, each with its libyaml vendored) and a pure six wheel, made from
 * Debian's amd64 and arm64 packages by scripts/fixtures/native_wheels.py (needs patchelf).
 */
export async function ensureNativeWheels(): Promise<WheelSet> {
  requireTools('python3', 'apt-get', 'dpkg-deb', 'patchelf');
  const script = join(repoRoot(), 'scripts', 'fixtures', 'native_wheels.py');
  const key = cacheKey(scriptText('native_wheels.py', 'debian_wheels.py', 'wheelzip.py'));
  const dir = await cachedDir(`wheels/debian-native-${key}`, async (tmp) => {
    await run('python3', [script, '--out', tmp], { timeoutMs: 10 * 60_000 });
  });
  return wheelSet(dir);
}
