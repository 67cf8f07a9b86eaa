/**
 * What each installed package writes (path, kind, content hash) without building its layer, so
 * path conflicts between packages can be found before any layer is made, and without opening
 * the wheels of layers that are reused. The hashes come from the distribution's regenerated
 * RECORD (installWheel checked every member against the wheel's own RECORD, and the layer
 * build checks the bytes again as they stream), and the lists are cached by wheel sha256,
 * install layout and bytecode compiler.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InputError } from '../errors.js';
import type { Entry, FileEntry } from '../layer/entry.js';
import { digestHex } from '../oci/digest.js';
import type { InstallLayout } from '../python/layout.js';
import { normalizeName } from '../python/names.js';
import { parseRecord } from '../python/record.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { Cache } from '../store/cache.js';
import { touch } from '../store/cache-prune.js';
import { fingerprint, type EntryInput } from './fingerprint.js';
import type { PackageInput } from './layers.js';
import { checkPathConflicts, type ClaimSet } from './path-conflicts.js';

/** Bumped when what a list holds changes, so old cache files are misses. */
const FORMAT = 1;

/** What decides a package's installed files: the wheel, the layout and the .pyc compiler. */
export function packageFilesKey(p: Pick<PackageInput, 'sha256' | 'bytecode'>, layout: InstallLayout): string {
  return digestHex(fingerprint({ format: FORMAT, sha256: p.sha256, layout, bytecode: p.bytecode ?? null }));
}

/** Image paths (no leading slash) under which an installed package can write anything. */
export function packageRoots(layout: InstallLayout): string[] {
  const dirs = [layout.purelib, layout.platlib, layout.scripts, layout.data, layout.headers].map((d) => d.replace(/^\/+|\/+$/g, ''));
  return [...new Set(dirs)];
}

/** Whether `path` is strictly below one of `roots`. */
export const underRoots = (path: string, roots: readonly string[]): boolean => roots.some((r) => path.startsWith(`${r}/`));

/**
 * Whether files could meet a package's: one of them is below a root, or is something other
 * than a directory at a root or above one (packages need those to be directories).
 */
export function reachesRoots(files: readonly EntryInput[], roots: readonly string[]): boolean {
  return files.some((f) => underRoots(f.path, roots) || (f.kind !== 'd' && roots.some((r) => r === f.path || r.startsWith(`${f.path}/`))));
}

async function sha256Of(e: FileEntry): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of await e.open()) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The distribution's own RECORD: `<site>/<its name>-<version>.dist-info/RECORD`. */
function ownRecord(name: string, entries: readonly Entry[], layout: InstallLayout): FileEntry | undefined {
  const sites = new Set([layout.purelib, layout.platlib].map((d) => d.replace(/^\/+|\/+$/g, '')));
  const want = normalizeName(name);
  return entries.find((e): e is FileEntry => {
    if (e.type !== 'file' || !e.path.endsWith('.dist-info/RECORD')) return false;
    const dir = posix.dirname(e.path);
    if (!sites.has(posix.dirname(dir))) return false;
    const stem = posix.basename(dir).slice(0, -'.dist-info'.length);
    const dash = stem.lastIndexOf('-');
    return dash > 0 && normalizeName(stem.slice(0, dash)) === want;
  });
}

/**
 * An installed package's files as fingerprints describe entries (path, kind, content sha256),
 * hashes from its RECORD; a file RECORD does not hash (RECORD itself) is read and hashed.
 * With `only`, just the paths it accepts are described (and read, if need be).
 */
export async function installedFiles(name: string, entries: readonly Entry[], layout: InstallLayout, only?: (path: string) => boolean): Promise<EntryInput[]> {
  const hashes = new Map<string, string>();
  const record = ownRecord(name, entries, layout);
  if (record) {
    const root = posix.dirname(posix.dirname(record.path));
    const chunks: Buffer[] = [];
    for await (const c of await record.open()) chunks.push(c as Buffer);
    for (const row of parseRecord(Buffer.concat(chunks).toString('utf8'))) {
      if (row.hash.startsWith('sha256=')) hashes.set(posix.normalize(posix.join(root, row.path)), Buffer.from(row.hash.slice(7), 'base64url').toString('hex'));
    }
  }
  const seen = new Set<string>();
  const out: EntryInput[] = [];
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (seen.has(path)) {
      throw new InputError(
        'SHALE_PATH_CONFLICT',
        `package ${name} installs /${path} twice; its wheel is malformed (rebuild it with a standard tool, or drop the package)`,
      );
    }
    seen.add(path);
    if (only && !only(path)) continue;
    if (e.type === 'dir') out.push({ path, kind: 'd', content: '' });
    else if (e.type === 'symlink') out.push({ path, kind: 'l', content: e.target });
    else out.push({ path, kind: (e.mode & 0o111) !== 0 ? 'f755' : 'f644', content: hashes.get(path) ?? (await sha256Of(e)) });
  }
  return out;
}

type Row = [string, string, string];

/** A cached list, or undefined when it is missing, damaged or of another format or key. */
function parseList(text: string, key: string): EntryInput[] | undefined {
  try {
    const v = JSON.parse(text) as { format?: unknown; key?: unknown; files?: unknown };
    if (v.format !== FORMAT || v.key !== key || !Array.isArray(v.files)) return undefined;
    const ok = (r: unknown): r is Row => Array.isArray(r) && r.length === 3 && r.every((x) => typeof x === 'string');
    if (!v.files.every(ok)) return undefined;
    return (v.files as Row[]).map(([path, kind, content]) => ({ path, kind, content }));
  } catch {
    return undefined;
  }
}

/**
 * Installed file lists of packages, once per build per key, kept in the cache
 * (`metadata/<key>.files.json`, pruned with the wheel metadata, least recently used first).
 * A miss installs the package (`entries()`: fetches its wheel) and writes the list.
 */
export class PackageFiles {
  private readonly memo = new Map<string, Promise<EntryInput[]>>();

  constructor(
    private readonly cache: Cache,
    /** Whether to read the cache (`--no-cache` does not; it still writes). */
    private readonly readCache: boolean,
  ) {}

  private path(key: string): string {
    return join(this.cache.metadata.dir, `${key}.files.json`);
  }

  /** The files `p` installs with `layout`. */
  files(p: PackageInput, layout: InstallLayout): Promise<EntryInput[]> {
    const key = packageFilesKey(p, layout);
    let got = this.memo.get(key);
    if (!got) {
      got = this.load(p, layout, key);
      this.memo.set(key, got);
    }
    return got;
  }

  private async load(p: PackageInput, layout: InstallLayout, key: string): Promise<EntryInput[]> {
    const path = this.path(key);
    if (this.readCache) {
      const cached = parseList(await readFile(path, 'utf8').catch(() => ''), key);
      if (cached) {
        await touch(path);
        return cached;
      }
    }
    const files = await installedFiles(p.name, await p.entries(), layout);
    const rows: Row[] = files.map((f) => [f.path, f.kind, f.content]);
    await mkdir(this.cache.metadata.dir, { recursive: true });
    await writeFileAtomic(path, JSON.stringify({ format: FORMAT, key, wheel: p.wheel, files: rows }));
    return files;
  }
}

/**
 * The entries of several packages for one layer. A path two of them install is kept once when
 * both write the same bytes, kind and mode (namespace packages' shared `__init__.py`), and is
 * an error naming both otherwise; without duplicates the lists are simply joined.
 */
export async function mergePackageEntries(layer: string, pkgs: readonly PackageInput[], lists: readonly Entry[][], layout: InstallLayout): Promise<Entry[]> {
  const count = new Map<string, number>();
  for (const list of lists) for (const e of list) count.set(e.path, (count.get(e.path) ?? 0) + 1);
  if (![...count.values()].some((n) => n > 1)) return lists.flat();
  const sets: ClaimSet[] = await Promise.all(
    pkgs.map(async (p, i) => {
      // Only the shared paths are compared: their hashes come from RECORD, nothing else is read.
      const shared = (path: string): boolean => count.get(path)! > 1;
      const files = lists[i]!.some((e) => shared(e.path)) ? await installedFiles(p.name, lists[i]!, layout, shared) : [];
      return { owner: { layer, label: `${p.name} ${p.version}`, package: true }, files };
    }),
  );
  checkPathConflicts(sets);
  const kept = new Set<string>();
  return lists.flat().filter((e) => {
    if (e.type === 'dir') return true;
    if (kept.has(e.path)) return false;
    kept.add(e.path);
    return true;
  });
}
