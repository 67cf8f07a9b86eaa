/**
 * `compile-bytecode = true`: .pyc files for an installed distribution, made by a host Python of
 * the image's X.Y (see host-python.ts) and added to the distribution's entries and RECORD, so
 * they land in the package's own layer. The .pyc files are reproducible: hash-based and
 * unchecked (PEP 552: no mtime inside, and the interpreter never rewrites them), PYTHONHASHSEED=0,
 * one compiler process per distribution over a sorted file list, and the source paths embedded
 * in them (tracebacks, `co_filename`) are the image paths, not the temp dir they were compiled in.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ShaleError } from '../errors.js';
import { bufferEntry, type Entry, type FileEntry } from '../layer/entry.js';
import type { HostPython } from './host-python.js';
import type { InstalledDist } from './install.js';
import type { InstallLayout } from './layout.js';
import { formatRecord, parseRecord, recordHash, type RecordRow } from './record.js';

/** What decides the .pyc bytes besides the sources: part of a package layer's fingerprint. */
export function bytecodeKey(py: HostPython): string {
  return `${py.cacheTag} ${py.version} magic=${py.magic} unchecked-hash`;
}

/** `pkg/mod.py` → `pkg/__pycache__/mod.cpython-311.pyc`, as importlib.util.cache_from_source says. */
export function pycPath(source: string, cacheTag: string): string {
  return posix.join(posix.dirname(source), '__pycache__', `${posix.basename(source, '.py')}.${cacheTag}.pyc`);
}

// Reads jobs from stdin (never argv: a big package has thousands of files). A file that does not
// compile (say, a Python 2 example shipped in a wheel) is skipped, as pip's compileall step does.
const COMPILER = [
  'import sys, json, py_compile',
  'failed = []',
  'for j in json.load(sys.stdin):',
  '    try:',
  '        py_compile.compile(j["src"], cfile=j["cfile"], dfile=j["dfile"], doraise=True, optimize=0,',
  '                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)',
  '    except Exception:',
  '        failed.append(j["dfile"])',
  'json.dump(failed, sys.stdout)',
].join('\n');

interface Job {
  src: string;
  cfile: string;
  dfile: string;
}

/** Runs the compiler once over `jobs`; returns the image paths of sources that did not compile. */
function runCompiler(py: HostPython, jobs: Job[]): Promise<string[]> {
  // PYTHONHASHSEED=0 fixes set and frozenset constant order; -S keeps .pth files of the host's
  // site-packages from running; PYTHONPATH could shadow py_compile itself.
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONHASHSEED: '0' };
  delete env['PYTHONPATH'];
  return new Promise((resolve, reject) => {
    const child = spawn(py.path, ['-S', '-c', COMPILER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', (e) => reject(new ShaleError('SHALE_BYTECODE', `running ${py.path} to compile bytecode: ${e.message}`, { cause: e })));
    child.once('close', (code) => {
      if (code !== 0)
        return reject(new ShaleError('SHALE_BYTECODE', `${py.path} failed compiling bytecode (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
      try {
        resolve(JSON.parse(out) as string[]);
      } catch {
        reject(new ShaleError('SHALE_BYTECODE', `${py.path} compiling bytecode printed no result: ${out.slice(0, 200)} ${err.slice(0, 200)}`));
      }
    });
    child.stdin.on('error', () => {}); // a crash before reading stdin is reported by 'close'
    child.stdin.end(JSON.stringify(jobs));
  });
}

/** The dist's RECORD entry: `<site>/<name>-<version>.dist-info/RECORD`, written by installWheel. */
function findRecord(entries: readonly Entry[], sites: readonly string[]): FileEntry {
  const rec = entries.find(
    (e): e is FileEntry => e.type === 'file' && /\.dist-info\/RECORD$/.test(e.path) && sites.includes(posix.dirname(posix.dirname(e.path))),
  );
  if (!rec) throw new ShaleError('SHALE_BYTECODE', `no RECORD among the installed files (${entries[0]?.path ?? 'none'}, ...)`);
  return rec;
}

async function readEntry(e: FileEntry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await e.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A compiled distribution, and the image paths of sources that did not compile (no .pyc for them). */
export interface CompiledDist {
  dist: InstalledDist;
  skipped: string[];
}

/**
 * Compiles every `.py` the distribution installs under the layout's site directories with `py`,
 * and returns the distribution with the `.pyc` files added and listed in a regenerated RECORD.
 * A `.pyc` the wheel itself ships (hashed in its RECORD) is kept, not recompiled.
 */
export async function compileBytecode(dist: InstalledDist, layout: InstallLayout, py: HostPython): Promise<CompiledDist> {
  const sites = [...new Set([layout.purelib, layout.platlib])].map((s) => s.replace(/^\/+/, ''));
  const present = new Set(dist.entries.map((e) => e.path));
  const sources = dist.entries
    .filter((e): e is FileEntry => e.type === 'file' && e.path.endsWith('.py') && sites.some((s) => e.path.startsWith(`${s}/`)))
    .filter((e) => !present.has(pycPath(e.path, py.cacheTag)))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!sources.length) return { dist, skipped: [] };

  const tmp = await mkdtemp(join(tmpdir(), 'shale-pyc-'));
  try {
    const jobs: Job[] = [];
    for (const e of sources) {
      const src = join(tmp, 'src', e.path);
      await mkdir(dirname(src), { recursive: true });
      await pipeline(await e.open(), createWriteStream(src));
      jobs.push({ src, cfile: join(tmp, 'out', pycPath(e.path, py.cacheTag)), dfile: `/${e.path}` });
    }
    const failed = new Set(await runCompiler(py, jobs));

    const record = findRecord(dist.entries, sites);
    const root = posix.dirname(posix.dirname(record.path));
    const rows: RecordRow[] = parseRecord(await readEntry(record));
    const added: Entry[] = [];
    for (const e of sources) {
      if (failed.has(`/${e.path}`)) continue;
      const path = pycPath(e.path, py.cacheTag);
      const data = await readFile(join(tmp, 'out', path));
      added.push(bufferEntry(path, data));
      rows.push({ path: posix.relative(root, path), hash: recordHash(data), size: String(data.length) });
    }
    const newRecord = bufferEntry(record.path, formatRecord(rows));
    const entries = [...dist.entries.filter((e) => e !== record), ...added, newRecord];
    return {
      dist: { ...dist, entries, installedSize: entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0), files: entries.map((e) => e.path).sort() },
      skipped: [...failed].sort(),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
