/**
 * A Python on the build host of the same X.Y as the image's, for `compile-bytecode`: the .pyc
 * format (magic number, bytecode) is fixed within a minor version, so the host can compile what
 * the image's interpreter will load. It also builds wheels of pure-Python sdists (sdist-build.ts).
 * Nothing else in shale runs Python.
 */
import { execFile } from 'node:child_process';
import { InputError } from '../errors.js';

/** A CPython on the build host, as it describes itself. */
export interface HostPython {
  /** What was run: `$SHALE_PYTHON`, or a command found on PATH ("python3.11"). */
  path: string;
  /** Full version, e.g. "3.11.7": the compiler's patch release can change the bytecode it emits. */
  version: string;
  /** `sys.implementation.cache_tag`, e.g. "cpython-311": names the .pyc files. */
  cacheTag: string;
  /** `importlib.util.MAGIC_NUMBER` as hex, e.g. "a70d0d0a". */
  magic: string;
}

const PROBE = [
  'import sys, json, importlib.util',
  'print(json.dumps({"impl": sys.implementation.name, "version": "%d.%d.%d" % sys.version_info[:3],',
  '  "cacheTag": sys.implementation.cache_tag, "magic": importlib.util.MAGIC_NUMBER.hex()}))',
].join('\n');

interface Probe {
  impl: string;
  version: string;
  cacheTag: string;
  magic: string;
}

/** Runs `python -c PROBE`; undefined when it cannot be run or says nothing readable. */
function probe(cmd: string): Promise<Probe | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, ['-S', '-c', PROBE], { timeout: 30_000, encoding: 'utf8' }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const p = JSON.parse(stdout) as Partial<Probe>;
        const ok = typeof p.impl === 'string' && typeof p.version === 'string' && typeof p.cacheTag === 'string' && typeof p.magic === 'string';
        resolve(ok ? (p as Probe) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');

/** Why a host Python is wanted, for the error when there is none. */
export interface HostPythonPurpose {
  /** Completes "… needs a CPython X.Y on this machine to …". */
  needs: string;
  /** The other way out, after "install Python X.Y or point SHALE_PYTHON at one". */
  otherwise: string;
}

const BYTECODE: HostPythonPurpose = {
  needs: "compile-bytecode = true needs a CPython {minor} on this machine to compile bytecode for the image's Python {minor}",
  otherwise: 'remove compile-bytecode from the config',
};

/**
 * Finds a host CPython whose X.Y is `minor` (the image's Python): `$SHALE_PYTHON` when set (and
 * then only it), else `pythonX.Y` on PATH, else `python3` on PATH if it is that version. When
 * none fits, an InputError names the version needed, what for (`purpose`), and how to provide one.
 */
export async function findHostPython(minor: string, env: NodeJS.ProcessEnv = process.env, purpose: HostPythonPurpose = BYTECODE): Promise<HostPython> {
  const explicit = env['SHALE_PYTHON'];
  const candidates = explicit ? [explicit] : [`python${minor}`, 'python3'];
  const tried: string[] = [];
  for (const cmd of candidates) {
    const p = await probe(cmd);
    if (p && p.impl === 'cpython' && minorOf(p.version) === minor) return { path: cmd, version: p.version, cacheTag: p.cacheTag, magic: p.magic };
    tried.push(
      !p ? `${cmd} (not found or did not run)` : p.impl !== 'cpython' ? `${cmd} (${p.impl} ${p.version}, not CPython)` : `${cmd} (Python ${p.version})`,
    );
  }
  const where = explicit ? `SHALE_PYTHON=${explicit}` : `python${minor} and python3 on PATH`;
  throw new InputError(
    'SHALE_NO_HOST_PYTHON',
    `${purpose.needs.replaceAll('{minor}', minor)}, and none was found (tried ${where}: ${tried.join(', ')}); ` +
      `install Python ${minor} or point SHALE_PYTHON at one (SHALE_PYTHON=/path/to/python${minor}), or ${purpose.otherwise}`,
  );
}
