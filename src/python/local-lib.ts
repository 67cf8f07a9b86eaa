/**
 * Installs a local source package (a monorepo's libs/ledger_core) so it imports by name: its
 * importable packages go to purelib as they are, with a minimal dist-info so that
 * importlib.metadata (and scanners) list it. Nothing is built; no sdist or wheel is made.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse as parseToml } from 'smol-toml';
import { InputError } from '../errors.js';
import { bufferEntry, type Entry, type FileEntry } from '../layer/entry.js';
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

async function walk(root: string, rel: string, out: string[], skipTop?: Set<string>): Promise<void> {
  const st = await stat(join(root, rel));
  if (!st.isDirectory()) {
    out.push(rel);
    return;
  }
  for (const name of (await readdir(join(root, rel))).sort()) {
    if (skipped(name) || skipTop?.has(name)) continue;
    await walk(root, posix.join(rel, name), out);
  }
}

async function fileEntry(src: string, dest: string): Promise<{ entry: FileEntry; sha256: string }> {
  const st = await stat(src);
  const h = createHash('sha256');
  await pipeline(createReadStream(src), h);
  const entry: FileEntry = { type: 'file', path: dest.replace(/^\/+/, ''), mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size, open: () => createReadStream(src) };
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
  for (const name of names.sort()) {
    const rels: string[] = [];
    await walk(root, name, rels, flat ? FLAT_PROJECT_FILES : undefined);
    for (const rel of rels) {
      const { entry, sha256 } = await fileEntry(join(root, rel), posix.join(site, rel));
      add(entry, recordHashFromHex(sha256));
    }
  }
  const distInfo = posix.join(site, `${meta.name.replace(/[-.]+/g, '_')}-${meta.version}.dist-info`);
  const text = (p: string, data: string, mode = 0o644): void => add(bufferEntry(p.slice(1), data, mode), recordHash(data));
  text(`${distInfo}/METADATA`, `Metadata-Version: 2.1\nName: ${meta.name}\nVersion: ${meta.version}\n`);
  text(`${distInfo}/INSTALLER`, INSTALLER);
  const epText = `[console_scripts]\n${Object.entries(meta.scripts).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
  const { scripts, invalid } = parseScriptEntryPoints(epText);
  if (invalid.length) throw new InputError('SHALE_LIB_SCRIPTS', `${join(dir, 'pyproject.toml')}: [project.scripts] entries shale cannot read: ${invalid.join('; ')}; use name = "module:function"`);
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
