/**
 * A package locked at a version that has only a source distribution: its sdist is verified like
 * a wheel (lock hashes, link hash), unpacked safely, and built into a wheel by a host CPython of
 * the image's X.Y with `pip wheel --no-deps --no-build-isolation --no-index` (no network, no
 * shell). Only a pure wheel is accepted: one with native code would be built for this machine,
 * not for the image's platform, so that is an error asking for a wheel instead.
 *
 * The built wheel is cached by the sdist's sha256 (built-wheels.ts), and its own sha256 names it
 * in layer fingerprints. setuptools (and friends) do not promise byte-identical wheels across
 * versions, so two machines may build different bytes from one sdist; the cache makes the result
 * stable per machine, and registry-side layer reuse follows the built wheel's hash.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { InputError, ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { BuiltWheel } from './built-wheels.js';
import type { Cache } from '../store/cache.js';
import { findHostPython, type HostPython, type HostPythonPurpose } from './host-python.js';
import { isPureWheel, normalizeName, normalizeVersion, parseWheelFilename } from './names.js';
import type { LockedPackage } from './requirements.js';
import { extractSdist } from './safe-extract.js';
import type { PackageHttp } from './http.js';
import type { Candidate } from './sources.js';
import { describeEnv, tagIndex, wheelRank, type TargetEnv } from './tags.js';
import { chooseCandidate, type WheelChoice, type WheelFile } from './wheel-choice.js';

/** 1980-01-01, the earliest time a zip can hold: every built wheel's members get it. */
const SOURCE_DATE_EPOCH = '315532800';
const BUILD_TIMEOUT_MS = 15 * 60_000;
const TAIL_LINES = 15;

const PURPOSE: HostPythonPurpose = {
  needs: "a package with only a source distribution needs a CPython {minor} on this machine to build its wheel for the image's Python {minor}",
  otherwise: 'add a wheel of the package to find-links (then nothing is built)',
};

/** The build requirements an sdist declares (PEP 518), or setuptools' legacy default. */
async function buildRequires(srcDir: string): Promise<string[]> {
  const text = await readFile(join(srcDir, 'pyproject.toml'), 'utf8').catch(() => undefined);
  if (text === undefined) return ['setuptools', 'wheel'];
  try {
    const bs = parseToml(text)['build-system'];
    const req = typeof bs === 'object' && bs !== null && !Array.isArray(bs) ? (bs as Record<string, unknown>)['requires'] : undefined;
    return Array.isArray(req) ? req.filter((r): r is string => typeof r === 'string') : ['setuptools', 'wheel'];
  } catch {
    return [];
  }
}

/** The environment of the pip run: no user pip config, fixed timestamps and hash seed. */
function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PIP_') && k !== 'PYTHONPATH') env[k] = v;
  return {
    ...env,
    SOURCE_DATE_EPOCH,
    PYTHONHASHSEED: '0',
    PYTHONDONTWRITEBYTECODE: '1',
    PIP_CONFIG_FILE: devNull,
    PIP_NO_INPUT: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
  };
}

/** pip ran and failed: the message is its exit and last lines of output. */
class PipFailed extends Error {}

/** Runs pip wheel into `outDir`; rejects with {@link PipFailed} carrying pip's last lines when it fails. */
function runPipWheel(py: HostPython, srcDir: string, outDir: string, what: string, cwd: string): Promise<void> {
  const args = ['-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index', '--no-cache-dir', '-w', outDir, srcDir];
  return new Promise((resolve, reject) => {
    const child = spawn(py.path, args, { cwd, env: buildEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: BUILD_TIMEOUT_MS });
    const lines: string[] = [];
    const keep = (s: string): void => {
      lines.push(...s.split('\n'));
      if (lines.length > 4 * TAIL_LINES) lines.splice(0, lines.length - 2 * TAIL_LINES);
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    child.once('error', (e) => reject(new ShaleError('SHALE_SDIST_BUILD', `running ${py.path} -m pip to build ${what}: ${e.message}`, { cause: e })));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = lines
        .map((l) => l.trimEnd())
        .filter((l) => l.trim() !== '')
        .slice(-TAIL_LINES)
        .join('\n');
      const how = signal ? `was stopped (${signal}${signal === 'SIGTERM' ? `, after ${BUILD_TIMEOUT_MS / 60_000} minutes?` : ''})` : `exited ${code}`;
      reject(new PipFailed(`${py.path} -m pip wheel ${how}:\n${tail}`));
    });
  });
}

/** Accepts only a wheel of the locked name and version, pure, that fits the target. */
function checkBuilt(pkg: LockedPackage, sdist: string, filename: string, env: TargetEnv): void {
  const w = parseWheelFilename(filename);
  if (!w) throw new ShaleError('SHALE_SDIST_BUILD', `building ${sdist} made ${filename}, which is not a wheel file name`);
  if (normalizeName(w.name) !== normalizeName(pkg.name) || normalizeVersion(w.version) !== normalizeVersion(pkg.version)) {
    throw new InputError(
      'SHALE_SDIST_MISMATCH',
      `${sdist}, the sdist of ${pkg.name}==${pkg.version}, builds ${filename}: a different name or version than the lock says; fix the sdist or the lock`,
    );
  }
  if (!isPureWheel(w) || !w.pyTags.every((t) => /^py\d*$/.test(t))) {
    throw new InputError(
      'SHALE_SDIST_NATIVE',
      `${pkg.name}==${pkg.version} (pinned at ${pkg.source.file}:${pkg.source.line}) has only a source distribution (${sdist}), and it has native code: building it here made ${filename}, for this machine rather than ${describeEnv(env)}. ` +
        `Provide a wheel of ${pkg.name} for the target platform in find-links (built on a matching machine, e.g. \`pip wheel --no-deps ${pkg.name}==${pkg.version} -w wheels/\`), or lock a version that publishes one`,
    );
  }
  if (wheelRank(filename, tagIndex(env)) === undefined) {
    throw new InputError(
      'SHALE_NO_WHEEL',
      `${sdist} of ${pkg.name}==${pkg.version} builds ${filename}, which does not fit ${describeEnv(env)}; lock a version that supports it`,
    );
  }
}

/** Unpacks the verified sdist, runs pip, and caches the one wheel it made (checked by `checkBuilt`). */
async function build(pkg: LockedPackage, sdist: WheelFile, env: TargetEnv, cache: Cache, events: Events): Promise<BuiltWheel> {
  const tmp = await mkdtemp(join(tmpdir(), 'shale-sdist-'));
  try {
    const src = await extractSdist(sdist.path, join(tmp, 'src'), sdist.filename);
    const py = await findHostPython(env.python, process.env, PURPOSE);
    events({ type: 'log', level: 'info', message: `building a wheel from ${sdist.filename} with ${py.path} (Python ${py.version})` });
    const out = join(tmp, 'out');
    try {
      await runPipWheel(py, src, out, sdist.filename, tmp);
    } catch (err) {
      if (!(err instanceof PipFailed)) throw err;
      const reqs = await buildRequires(src);
      const need = reqs.length ? `pip builds without isolation, so the sdist's build requirements (${reqs.join(', ')}) must be installed in ${py.path}; ` : '';
      throw new InputError(
        'SHALE_SDIST_BUILD',
        `building a wheel of ${pkg.name}==${pkg.version} from its sdist ${sdist.filename} failed. ${need}otherwise, add a wheel of ${pkg.name} to find-links. ${err.message}`,
        { cause: err },
      );
    }
    const wheels = (await readdir(out).catch(() => [])).filter((n) => n.endsWith('.whl'));
    const filename = wheels[0];
    if (wheels.length !== 1 || !filename)
      throw new ShaleError('SHALE_SDIST_BUILD', `building ${sdist.filename} made ${wheels.length} wheels (${wheels.join(', ')}); expected one`);
    checkBuilt(pkg, sdist.filename, filename, env);
    return await cache.builtWheels.store(sdist.sha256, join(out, filename), filename);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The wheel built from sdist candidate `c` of `pkg`, as a {@link WheelChoice}: the cached build
 * when there is one (the sdist is then not even downloaded when its hash is known), else the
 * sdist is fetched, verified against the lock and link hashes, and built. The choice's sha256
 * and size are the built wheel's.
 */
export async function chooseSdist(pkg: LockedPackage, c: Candidate, env: TargetEnv, cache: Cache, events: Events, http?: PackageHttp): Promise<WheelChoice> {
  const sdist = await chooseCandidate(pkg, c, cache, events, http);
  const obtain = async (): Promise<BuiltWheel> => {
    const cached = await cache.builtWheels.get(sdist.sha256);
    if (cached) {
      checkBuilt(pkg, c.filename, cached.filename, env);
      return cached;
    }
    return cache.builtWheels.once(sdist.sha256, () => sdist.fetch().then((file) => build(pkg, file, env, cache, events)));
  };
  const first = await obtain();
  let fetched: Promise<WheelFile> | undefined;
  const fetch = (): Promise<WheelFile> => {
    fetched ??= obtain().then((w) => {
      if (w.sha256 !== first.sha256) {
        throw new ShaleError(
          'SHALE_WHEEL_CHANGED',
          `the wheel built from ${c.filename} now has sha256:${w.sha256}, but this build planned its layers with sha256:${first.sha256} (the built-wheels cache changed during the build); run the build again`,
        );
      }
      return { path: w.path, filename: w.filename, sha256: w.sha256, pure: true };
    });
    fetched.catch(() => (fetched = undefined));
    return fetched;
  };
  return { filename: first.filename, sha256: first.sha256, size: first.size, pure: true, fetch };
}
