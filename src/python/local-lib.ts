/**
 * Installs a local source package (a monorepo's libs/ledger_core) so it imports by name: its
 * importable packages go to purelib as they are, with a minimal dist-info so that
 * importlib.metadata (and scanners) list it. Nothing is built; no sdist or wheel is made.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open as openFile, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse as parseToml } from 'smol-toml';
import { InputError } from '../errors.js';
import { bufferEntry, type Entry, type FileEntry } from '../layer/entry.js';
import { mapLimit } from '../limit.js';
import { FS_BUDGET, walkTree } from '../plan/host-paths.js';
import { launcherScript, parseScriptEntryPoints } from './entry-points.js';
import { INSTALLER, type InstalledDist } from './install.js';
import type { InstallLayout } from './layout.js';
import { normalizeName } from './names.js';
import { formatRecord, recordHash, recordHashFromHex, type RecordRow } from './record.js';

/** Directories never worth installing at the top of a project. */
const NOT_PACKAGES = new Set(['tests', 'test', 'docs', 'doc', 'examples', 'build', 'dist', 'scripts', 'benchmarks']);
/** Top-level modules that are tooling, not library code. */
const NOT_MODULES = new Set(['setup.py', 'conftest.py', 'noxfile.py', 'fabfile.py', 'tasks.py', 'manage.py']);

const skipped = (name: string): boolean =>
  name === '__pycache__' || name.endsWith('.pyc') || name.endsWith('.pyo') || name.startsWith('.') || name.endsWith('.egg-info');

/** Name, version and console scripts from pyproject.toml ([project], else [tool.poetry]). */
interface ProjectMeta {
  name: string;
  version: string;
  scripts: Record<string, string>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

function table(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

async function readProject(dir: string): Promise<ProjectMeta> {
  const file = join(dir, 'pyproject.toml');
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text = undefined;
  }
  let doc: Record<string, unknown> = {};
  if (text !== undefined) {
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new InputError('SHALE_CONFIG_SYNTAX', `${file} is not valid TOML: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const project = table(doc.project);
  const poetry = table(table(doc.tool).poetry);
  const scripts: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...table(poetry.scripts), ...table(project.scripts) })) if (typeof v === 'string') scripts[k] = v;
  return {
    name: str(project.name) ?? str(poetry.name) ?? basename(dir),
    // A dynamic version (setuptools-scm and the like) cannot be known without building.
    version: str(project.version) ?? str(poetry.version) ?? '0',
    scripts,
  };
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/** The importable top-level names of a project and the directory they live in. */
async function findImportables(dir: string, importName: string): Promise<{ root: string; names: string[]; flat?: boolean }> {
  const src = join(dir, 'src');
  if (await isDir(src)) {
    const names = (await readdir(src, { withFileTypes: true }))
      .filter((d) => !skipped(d.name) && (d.isDirectory() || (d.isFile() && d.name.endsWith('.py'))))
      .map((d) => d.name);
    if (names.length) return { root: src, names };
  }
  const names: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (skipped(d.name) || NOT_PACKAGES.has(d.name)) continue;
    if (d.isDirectory() && (d.name === importName || (await exists(join(dir, d.name, '__init__.py'))))) names.push(d.name);
  }
  if (names.length) return { root: dir, names };
  // A flat package: the directory itself is the package (libs/ledger_core/__init__.py).
  if (await exists(join(dir, '__init__.py'))) return { root: resolve(dir, '..'), names: [basename(dir)], flat: true };
  const modules = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isFile() && d.name.endsWith('.py') && !NOT_MODULES.has(d.name) && !d.name.startsWith('test_'))
    .map((d) => d.name);
  return { root: dir, names: modules };
}

/** Project files that sit inside a flat package's directory but are not part of the package. */
const FLAT_PROJECT_FILES = new Set(['pyproject.toml', 'setup.py', 'setup.cfg', 'MANIFEST.in', 'tests']);

/** One thing of a package to install: a file (hashed for RECORD) or a symlink inside the library. */
type PackageItem = { kind: 'file'; rel: string; abs: string; mode: number; size: number } | { kind: 'symlink'; rel: string; target: string };

const LIB_FIX = 'remove it (hidden files, __pycache__ and *.pyc are never installed)';

/**
 * The files and symlinks of the importable `name` under `root` (a package directory or a module
 * file), FS_BUDGET file-system calls at a time. Symlinks are kept as symlinks, never followed,
 * and must point inside the library's directory `libDir` (a target elsewhere would not be in
 * site-packages); a dangling one is an error, as is a name that is not UTF-8 (see walkTree).
 */
async function packageItems(root: string, name: string, libDir: string, skipTop?: Set<string>): Promise<PackageItem[]> {
  const top = join(root, name);
  const st = await lstat(top);
  if (!st.isDirectory()) return st.isFile() ? [{ kind: 'file', rel: name, abs: top, mode: st.mode, size: st.size }] : [];
  const label = (rel: string): string => `${join(top, rel)} (in local library ${libDir})`;
  const items = await walkTree(top, {
    root: libDir,
    choose: (rel) => {
      const base = posix.basename(rel);
      return skipped(base) || (skipTop?.has(base) === true && !rel.includes('/')) ? 'out' : 'in';
    },
    label,
    fix: LIB_FIX,
  });
  const out: PackageItem[] = [];
  for (const item of items) {
    const rel = posix.join(name, item.rel);
    if (item.kind === 'file') out.push({ kind: 'file', rel, abs: item.abs, mode: item.mode, size: item.size });
    else if (item.kind === 'symlink') out.push({ kind: 'symlink', rel, target: item.target });
    else if (item.kind === 'dangling') {
      throw new InputError(
        'SHALE_SYMLINK_DANGLING',
        `${label(item.rel)} is a symlink to "${item.target}", which does not exist; point it at a file of the library or ${LIB_FIX}`,
      );
    }
  }
  return out;
}

async function fileEntry(item: Extract<PackageItem, { kind: 'file' }>, dest: string): Promise<{ entry: FileEntry; sha256: string }> {
  const h = createHash('sha256');
  // O_NOFOLLOW: a symlink put in the file's place after the walk is not followed.
  const opener = () => openFile(item.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  await pipeline((await opener()).createReadStream(), h);
  const entry: FileEntry = {
    type: 'file',
    path: dest.replace(/^\/+/, ''),
    mode: item.mode & 0o111 ? 0o755 : 0o644,
    size: item.size,
    open: async () => (await opener()).createReadStream(),
  };
  return { entry, sha256: h.digest('hex') };
}

/**
 * Installs the local package in `dir` into purelib: `src/<pkg>/`, `<pkg>/` (with __init__.py,
 * or named like the project) or a directory that is itself a package, plus METADATA, INSTALLER,
 * RECORD and console scripts from [project.scripts]. Files are read from disk when the layer is
 * written. `__pycache__`, `*.pyc`, hidden files and a top-level tests/ stay out.
 */
export async function installLocalLib(dir: string, layout: InstallLayout): Promise<InstalledDist> {
  if (!(await isDir(dir))) {
    throw new InputError('SHALE_LIB_MISSING', `local library ${dir} is not a directory; fix paths in [[tool.shale.layers]]`);
  }
  const meta = await readProject(dir);
  const importName = meta.name.replace(/[-.]+/g, '_').toLowerCase();
  const { root, names, flat } = await findImportables(dir, importName);
  if (names.length === 0) {
    throw new InputError(
      'SHALE_LIB_EMPTY',
      `local library ${dir} has no importable package: expected src/${importName}/, ${importName}/, a directory with __init__.py, or .py modules`,
    );
  }
  const site = layout.purelib;
  const entries: Entry[] = [];
  const rows: RecordRow[] = [];
  let size = 0;
  const add = (e: FileEntry, hash: string): void => {
    entries.push(e);
    size += e.size;
    rows.push({ path: posix.relative(site, `/${e.path}`), hash, size: String(e.size) });
  };
  const libDir = await realpath(dir);
  const items: PackageItem[] = [];
  for (const name of names.sort()) items.push(...(await packageItems(root, name, libDir, flat ? FLAT_PROJECT_FILES : undefined)));
  const files = items.filter((i) => i.kind === 'file');
  const hashed = await mapLimit(files, FS_BUDGET, (f) => fileEntry(f, posix.join(site, f.rel)));
  for (const { entry, sha256 } of hashed) add(entry, recordHashFromHex(sha256));
  for (const link of items) {
    if (link.kind !== 'symlink') continue;
    const path = posix.join(site, link.rel);
    entries.push({ type: 'symlink', path: path.slice(1), target: link.target });
    rows.push({ path: posix.relative(site, path), hash: '', size: '' });
  }
  const distInfo = posix.join(site, `${meta.name.replace(/[-.]+/g, '_')}-${meta.version}.dist-info`);
  const text = (p: string, data: string, mode = 0o644): void => add(bufferEntry(p.slice(1), data, mode), recordHash(data));
  text(`${distInfo}/METADATA`, `Metadata-Version: 2.1\nName: ${meta.name}\nVersion: ${meta.version}\n`);
  text(`${distInfo}/INSTALLER`, INSTALLER);
  const epText = `[console_scripts]\n${Object.entries(meta.scripts)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')}\n`;
  const { scripts, invalid } = parseScriptEntryPoints(epText);
  if (invalid.length)
    throw new InputError(
      'SHALE_LIB_SCRIPTS',
      `${join(dir, 'pyproject.toml')}: [project.scripts] entries shale cannot read: ${invalid.join('; ')}; use name = "module:function"`,
    );
  if (scripts.length) text(`${distInfo}/entry_points.txt`, epText);
  for (const ep of scripts) text(posix.join(layout.scripts, ep.name), launcherScript(layout.interpreter, ep), 0o755);
  rows.push({ path: posix.relative(site, `${distInfo}/RECORD`), hash: '', size: '' });
  const record = bufferEntry(`${distInfo}/RECORD`.slice(1), formatRecord(rows));
  entries.push(record);
  size += record.size;
  return {
    name: normalizeName(meta.name),
    version: meta.version,
    entries,
    installedSize: size,
    pure: true,
    files: entries.map((e) => e.path).sort(),
  };
}
