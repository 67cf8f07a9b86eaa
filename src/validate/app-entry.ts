/**
 * `app-entry`: what the entrypoint runs exists in the image: the script of `python3 main.py`
 * (from WorkingDir), the module of `python -m pkg.mod`, and the app module of `uvicorn mod:app`,
 * `gunicorn [-w 2] mod:app`, `hypercorn mod:app` (run as programs or with `-m`), looked up on the
 * sys.path the image's Python would have: the working directory (or the script's), `--app-dir`
 * / `--chdir` / `--pythonpath`, PYTHONPATH, the standard library and the site directories (with
 * those their `.pth` files name).
 */
import { posix } from 'node:path';
import { platformString } from '../oci/types.js';
import { imagePython, sitePath, stdlibDirs } from './image-python.js';
import { verdict, type CheckResult, type ImageView } from './result.js';
import { RootFs } from './root-fs.js';

/** What an entrypoint runs, as far as Python goes. */
export type EntryTarget =
  | { kind: 'script'; path: string }
  /** `asMain`: run with -m (needs `__main__.py` for a package); `dirs`: sys.path entries the runner adds first. */
  | { kind: 'module'; module: string; asMain: boolean; by: string; dirs: string[] }
  | { kind: 'unknown'; why: string };

const PYTHON = /^python(3(\.\d+)?)?$/;
const RUNNERS = new Set(['uvicorn', 'gunicorn', 'hypercorn']);
/** Python options that take a value. */
const PY_VALUE = new Set(['-W', '-X', '-Q']);
/** Options that take a value, per runner (flags not listed take none; `--opt=value` is one word). */
const RUNNER_VALUE: Record<string, ReadonlySet<string>> = {
  uvicorn: new Set([
    '--host',
    '--port',
    '--uds',
    '--fd',
    '--reload-dir',
    '--reload-include',
    '--reload-exclude',
    '--reload-delay',
    '--workers',
    '--loop',
    '--http',
    '--ws',
    '--ws-max-size',
    '--ws-max-queue',
    '--ws-ping-interval',
    '--ws-ping-timeout',
    '--lifespan',
    '--interface',
    '--env-file',
    '--log-config',
    '--log-level',
    '--root-path',
    '--limit-concurrency',
    '--backlog',
    '--limit-max-requests',
    '--timeout-keep-alive',
    '--timeout-graceful-shutdown',
    '--ssl-keyfile',
    '--ssl-certfile',
    '--ssl-keyfile-password',
    '--ssl-version',
    '--ssl-cert-reqs',
    '--ssl-ca-certs',
    '--ssl-ciphers',
    '--header',
    '--forwarded-allow-ips',
    '--app-dir',
    '--h11-max-incomplete-event-size',
    '--ws-per-message-deflate',
  ]),
  gunicorn: new Set([
    '-c',
    '--config',
    '-b',
    '--bind',
    '-w',
    '--workers',
    '-k',
    '--worker-class',
    '-t',
    '--timeout',
    '--threads',
    '--backlog',
    '--worker-connections',
    '--max-requests',
    '--max-requests-jitter',
    '--graceful-timeout',
    '--keep-alive',
    '--limit-request-line',
    '--limit-request-fields',
    '--limit-request-field_size',
    '--chdir',
    '-e',
    '--env',
    '-p',
    '--pid',
    '--pythonpath',
    '--log-level',
    '--access-logfile',
    '--error-logfile',
    '--log-file',
    '--access-logformat',
    '--log-config',
    '--log-config-json',
    '-n',
    '--name',
    '-u',
    '--user',
    '-g',
    '--group',
    '-m',
    '--umask',
    '--worker-tmp-dir',
    '--forwarded-allow-ips',
    '--certfile',
    '--keyfile',
    '--ca-certs',
    '--ciphers',
    '--ssl-version',
    '--cert-reqs',
    '--paste',
    '--statsd-host',
    '--statsd-prefix',
    '--dogstatsd-tags',
    '--proxy-allow-from',
    '--reload-engine',
    '--reload-extra-file',
    '--logger-class',
    '--syslog-addr',
    '--syslog-prefix',
    '--syslog-facility',
    '--proxy-protocol',
    '--raw-env',
    '--spew',
  ]),
  hypercorn: new Set([
    '-c',
    '--config',
    '-b',
    '--bind',
    '--insecure-bind',
    '--quic-bind',
    '-w',
    '--workers',
    '-k',
    '--worker-class',
    '--keep-alive',
    '--root-path',
    '--log-level',
    '--access-logfile',
    '--error-logfile',
    '--log-config',
    '--access-logformat',
    '--certfile',
    '--keyfile',
    '--ca-certs',
    '--ciphers',
    '--backlog',
    '--graceful-timeout',
    '--read-timeout',
    '--max-requests',
    '--max-requests-jitter',
    '-m',
    '--umask',
    '-u',
    '--user',
    '-g',
    '--group',
    '-p',
    '--pid',
    '--server-name',
    '--statsd-host',
    '--statsd-prefix',
    '--websocket-ping-interval',
  ]),
};
/** Options whose value is a directory the runner puts first on sys.path. */
const PATH_OPTIONS = new Set(['--app-dir', '--chdir', '--pythonpath']);
const MODULE = /^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*$/;

/** The targets of a runner's arguments: its app module, from `mod:attr` (or a bare module for gunicorn). */
function runnerTargets(runner: string, args: readonly string[]): EntryTarget[] {
  const takesValue = RUNNER_VALUE[runner] ?? new Set<string>();
  const positional: string[] = [];
  const dirs: string[] = [];
  let config = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      const value = inline ?? (takesValue.has(flag) ? args[++i] : undefined);
      if (flag === '-c' || flag === '--config') config = true;
      if (PATH_OPTIONS.has(flag) && value !== undefined) dirs.push(...(flag === '--pythonpath' ? value.split(',') : [value]));
      continue;
    }
    positional.push(a);
  }
  // The app is `module:attribute`; gunicorn also takes a bare module (attribute "application").
  const app = positional.find((p) => /^[A-Za-z_][\w.]*:/.test(p)) ?? (runner === 'gunicorn' ? positional.find((p) => MODULE.test(p)) : undefined);
  if (app === undefined) {
    const why = config ? `${runner} names its app in its config file, which is not read here` : `no app ("module:attribute") in ${runner}'s arguments`;
    return [{ kind: 'unknown', why }];
  }
  const module = app.split(':')[0]!;
  if (!MODULE.test(module)) return [{ kind: 'unknown', why: `"${app}" is not a module:attribute shale can look up` }];
  return [{ kind: 'module', module, asMain: false, by: `${runner} ${app}`, dirs }];
}

/** What `argv` (the entrypoint and cmd, as the runtime joins them) runs, as far as Python goes. */
export function entryTargets(argv: readonly string[]): EntryTarget[] {
  const [program, ...args] = argv;
  if (program === undefined) return [{ kind: 'unknown', why: 'no entrypoint or cmd' }];
  const name = posix.basename(program);
  if (RUNNERS.has(name)) return runnerTargets(name, args);
  if (!PYTHON.test(name)) return [{ kind: 'unknown', why: `${name} is not python3, uvicorn, gunicorn or hypercorn` }];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || (a.startsWith('-c') && !a.startsWith('--'))) return [{ kind: 'unknown', why: 'python3 -c runs inline code' }];
    if (a === '-') return [{ kind: 'unknown', why: 'python3 - reads its program from stdin' }];
    if (a === '-m' || (a.startsWith('-m') && a.length > 2)) {
      const module = a === '-m' ? args[i + 1] : a.slice(2);
      if (module === undefined) return [{ kind: 'unknown', why: 'python3 -m names no module' }];
      const rest = args.slice(a === '-m' ? i + 2 : i + 1);
      const self: EntryTarget = { kind: 'module', module, asMain: true, by: `python3 -m ${module}`, dirs: [] };
      return RUNNERS.has(module) ? [self, ...runnerTargets(module, rest)] : [self];
    }
    if (PY_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return [{ kind: 'script', path: a }];
  }
  return [{ kind: 'unknown', why: 'python3 with no script runs an interactive prompt' }];
}

/** Finds `module` on `path` (directories in sys.path order): its file, or undefined. */
export function findModule(fs: RootFs, module: string, path: readonly string[], asMain: boolean): string | undefined {
  const parts = module.split('.');
  const last = parts.pop()!;
  for (const dir of path) {
    // A directory need not be listed in a layer: one that something is below exists too.
    const joined = posix.join(dir, ...parts);
    const where = fs.resolve(joined)?.path ?? joined;
    if (parts.length && !fs.isDir(where)) continue;
    const candidates = [posix.join(where, last, asMain ? '__main__.py' : '__init__.py'), `${posix.join(where, last)}.py`, `${posix.join(where, last)}.pyc`];
    if (!asMain) candidates.push(posix.join(where, last, '__init__.pyc'));
    for (const c of candidates) {
      const hit = fs.resolve(c);
      if (hit?.entry.type === 'file' || hit?.entry.type === 'link') return c;
    }
    // An extension module: mod.cpython-311-x86_64-linux-gnu.so, mod.abi3.so, mod.so.
    const ext = fs.list(where).find((n) => n.startsWith(`${last}.`) && n.endsWith('.so'));
    if (ext) return posix.join(where, ext);
    // A namespace package (a directory without __init__.py) imports, for `mod:attr` as for `-m`'s parents.
    if (!asMain && fs.isDir(posix.join(where, last))) return `${posix.join(where, last)}/ (namespace package)`;
  }
  return undefined;
}

/** Checks the script or module the entrypoint runs, per platform. */
export function checkAppEntry(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const said: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const c = img.config.config ?? {};
    const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
    const cwd = c.WorkingDir || '/';
    const fs = new RootFs(img.layers.map((l) => l.entries));
    const py = imagePython(img);
    const env = new Map((c.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const pythonPath = (env.get('PYTHONPATH') ?? '')
      .split(':')
      .filter(Boolean)
      .map((d) => posix.resolve(cwd, d));
    const libs = 'python' in py ? [...stdlibDirs(py.python), ...sitePath(py.python, fs).map((s) => s.dir)] : [];
    for (const t of entryTargets(argv)) {
      if (t.kind === 'unknown') {
        said.push(`${plat}: nothing to look up (${t.why})`);
        continue;
      }
      if (t.kind === 'script') {
        const path = posix.resolve(cwd, t.path);
        const hit = fs.resolve(path);
        if (hit?.entry.type === 'file' || hit?.entry.type === 'link') said.push(`${plat}: script ${t.path} is ${path}`);
        else
          problems.push(`${plat}: the entrypoint runs ${t.path}, but ${path} is not in the image (WorkingDir ${cwd}); add it to \`app\` or fix the entrypoint`);
        continue;
      }
      const dirs = [...t.dirs.map((d) => posix.resolve(cwd, d)), cwd, ...pythonPath, ...libs];
      const found = findModule(fs, t.module, [...new Set(dirs)], t.asMain);
      if (found) said.push(`${plat}: ${t.by}: module ${t.module} is ${found}`);
      else {
        const why = 'python' in py ? '' : ` (and no Python shale knows: ${py.problem})`;
        problems.push(
          `${plat}: ${t.by}: module ${t.module} is not on the image's sys.path (${[...new Set(dirs)].join(':')})${why}; ` +
            'ship it in `app` (or install it) or fix the entrypoint',
        );
      }
    }
  }
  return verdict('app-entry', problems, said.join('; '));
}
