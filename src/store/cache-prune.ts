/**
 * What a cache directory holds, and pruning it. Items are layer blobs, downloaded wheels,
 * wheels built from sdists and the core metadata read from wheels (`metadata/<sha256>.json`,
 * one per wheel a resolver looked at); each is dated by its last use (builds touch what they reuse, see
 * `touch`). Index entries, records and hashes are small metadata: kept, except index entries
 * whose blob is gone. Temporary files of a build that died (kill -9, a crash, a full disk)
 * are removed once their process no longer runs.
 */
import { lstat, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';

export type CacheKind = 'layers' | 'wheels' | 'built-wheels' | 'wheel-metadata';
export const CACHE_KINDS: readonly CacheKind[] = ['layers', 'wheels', 'built-wheels', 'wheel-metadata'];

interface Item {
  kind: CacheKind;
  /** The file or directory that goes as a whole. */
  path: string;
  bytes: number;
  /** When a build last wrote or used it (ms). */
  used: number;
}

interface Temp {
  path: string;
  bytes: number;
  /** Whether the process that writes it has ended (or it is a day old). */
  stale: boolean;
}

export interface Tally {
  files: number;
  bytes: number;
}

export interface CacheUsage {
  dir: string;
  kinds: Record<CacheKind, Tally & { oldestUse?: number; newestUse?: number }>;
  /** Temporary files of builds that are no longer running. */
  stale: Tally;
  /** Index entries, records, hashes, base-image records and URL notes. */
  metadata: Tally;
}

export interface PruneOptions {
  /** Remove items not used for this long (ms). */
  unusedForMs?: number;
  /** Then remove the least recently used until the items total at most this many bytes. */
  maxBytes?: number;
  /** Never remove what was used this recently (ms): a build running now may still need it. Default 10 minutes. */
  graceMs?: number;
  /** Report what would go; remove nothing. */
  dryRun?: boolean;
  now?: number;
}

export interface PruneResult {
  removed: Record<CacheKind, Tally> & { stale: Tally; orphanIndexEntries: number };
  kept: Tally;
}

const DAY = 24 * 3600 * 1000;
/** `.tmp-<anything>-<pid>-<12 hex>` (atomic-file.ts) or `.tmp-<pid>-<12 hex>` (downloads, built wheels). */
const TEMP_RE = /^\.tmp-(?:.*-)?(\d+)-[0-9a-f]{12}$/;

/** Marks a cached file as used now, for `pruneCache`'s least-recently-used order. Never fails. */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Size and newest mtime of a file, or of the files under a directory. */
async function measure(path: string): Promise<{ bytes: number; used: number; files: number }> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return { bytes: 0, used: 0, files: 0 };
  if (!st.isDirectory()) return { bytes: st.size, used: st.mtimeMs, files: 1 };
  let out = { bytes: 0, used: 0, files: 0 };
  for (const name of await list(path)) {
    const m = await measure(join(path, name));
    out = { bytes: out.bytes + m.bytes, used: Math.max(out.used, m.used), files: out.files + m.files };
  }
  return out;
}

/** A temporary file's size, and whether the build writing it has ended (or it is a day old). */
async function tempFile(path: string, name: string, now: number): Promise<Temp> {
  const m = await measure(path);
  const pid = Number(TEMP_RE.exec(name)?.[1] ?? NaN);
  return { path, bytes: m.bytes, stale: !Number.isInteger(pid) || !isAlive(pid) || now - m.used > DAY };
}

/** Where each kind of item lives. */
const itemDirs = (cacheDir: string): [CacheKind, string][] => [
  ['layers', join(cacheDir, 'blobs', 'sha256')],
  ['wheels', join(cacheDir, 'wheels')],
  ['built-wheels', join(cacheDir, 'built-wheels')],
  // One small file per wheel, but one per version a resolver considered: pruned like the rest.
  ['wheel-metadata', join(cacheDir, 'metadata')],
];
/** Where the metadata lives (file-hashes.json aside); `libc` held base records before `base` did. */
const metadataDirs = (cacheDir: string): string[] =>
  ['index', 'records', 'base', 'libc', 'index-pages', 'resolutions', join('wheels', 'urls')].map((d) => join(cacheDir, d));
/** Where builds write temporary files: every one of those. */
const tempDirs = (cacheDir: string): string[] => [...itemDirs(cacheDir).map(([, dir]) => dir), ...metadataDirs(cacheDir)];

/**
 * Removes the temporary files of builds that no longer run: a build killed mid-layer leaves one
 * as large as the layer. Builds call it after building something. Returns the bytes freed.
 */
export async function sweepStaleTemps(cacheDir: string, now = Date.now()): Promise<number> {
  let freed = 0;
  for (const dir of tempDirs(cacheDir)) {
    for (const name of await list(dir)) {
      if (!name.startsWith('.tmp-')) continue;
      const t = await tempFile(join(dir, name), name, now);
      if (!t.stale) continue;
      await rm(t.path, { recursive: true, force: true });
      freed += t.bytes;
    }
  }
  return freed;
}

async function scan(cacheDir: string, now: number): Promise<{ items: Item[]; temps: Temp[]; metadata: Tally }> {
  const items: Item[] = [];
  const temps: Temp[] = [];
  const metadata: Tally = { files: 0, bytes: 0 };
  const temp = async (path: string, name: string): Promise<boolean> => {
    if (!name.startsWith('.tmp-')) return false;
    temps.push(await tempFile(path, name, now));
    return true;
  };
  for (const [kind, dir] of itemDirs(cacheDir)) {
    for (const name of await list(dir)) {
      const path = join(dir, name);
      if (await temp(path, name)) continue;
      if (kind === 'wheels' && name === 'urls') continue;
      const m = await measure(path);
      items.push({ kind, path, bytes: m.bytes, used: m.used });
    }
  }
  for (const dir of metadataDirs(cacheDir)) {
    for (const name of await list(dir)) {
      const path = join(dir, name);
      if (await temp(path, name)) continue;
      const m = await measure(path);
      metadata.files += m.files;
      metadata.bytes += m.bytes;
    }
  }
  const hashes = await measure(join(cacheDir, 'file-hashes.json'));
  metadata.files += hashes.files;
  metadata.bytes += hashes.bytes;
  return { items, temps, metadata };
}

const zero = (): Tally => ({ files: 0, bytes: 0 });

/** What the cache holds, by kind. */
export async function cacheUsage(cacheDir: string, now = Date.now()): Promise<CacheUsage> {
  const { items, temps, metadata } = await scan(cacheDir, now);
  const kinds = Object.fromEntries(CACHE_KINDS.map((k) => [k, zero()])) as CacheUsage['kinds'];
  for (const it of items) {
    const t = kinds[it.kind];
    t.files++;
    t.bytes += it.bytes;
    t.oldestUse = Math.min(t.oldestUse ?? it.used, it.used);
    t.newestUse = Math.max(t.newestUse ?? it.used, it.used);
  }
  const stale = temps.filter((t) => t.stale);
  return { dir: cacheDir, kinds, stale: { files: stale.length, bytes: stale.reduce((a, t) => a + t.bytes, 0) }, metadata };
}

/**
 * Removes stale temporary files, items unused for `unusedForMs`, then the least recently used
 * items until the rest fit in `maxBytes`; never what was used within `graceMs`. Index entries
 * whose blob is gone are removed with it.
 */
export async function pruneCache(cacheDir: string, opts: PruneOptions = {}): Promise<PruneResult> {
  const now = opts.now ?? Date.now();
  const grace = opts.graceMs ?? 10 * 60 * 1000;
  const { items, temps } = await scan(cacheDir, now);
  const removed: PruneResult['removed'] = {
    layers: zero(),
    wheels: zero(),
    'built-wheels': zero(),
    'wheel-metadata': zero(),
    stale: zero(),
    orphanIndexEntries: 0,
  };
  const remove = async (path: string): Promise<void> => {
    if (!opts.dryRun) await rm(path, { recursive: true, force: true });
  };
  for (const t of temps.filter((x) => x.stale)) {
    await remove(t.path);
    removed.stale.files++;
    removed.stale.bytes += t.bytes;
  }
  const removable = (it: Item): boolean => now - it.used > grace;
  const gone = new Set<Item>();
  if (opts.unusedForMs !== undefined) {
    for (const it of items) if (removable(it) && now - it.used > opts.unusedForMs!) gone.add(it);
  }
  if (opts.maxBytes !== undefined) {
    let total = items.filter((it) => !gone.has(it)).reduce((a, it) => a + it.bytes, 0);
    for (const it of [...items].sort((a, b) => a.used - b.used)) {
      if (total <= opts.maxBytes) break;
      if (gone.has(it) || !removable(it)) continue;
      gone.add(it);
      total -= it.bytes;
    }
  }
  for (const it of gone) {
    await remove(it.path);
    removed[it.kind].files++;
    removed[it.kind].bytes += it.bytes;
  }
  if (gone.size)
    removed.orphanIndexEntries = await dropOrphanIndexEntries(
      cacheDir,
      new Set([...gone].filter((it) => it.kind === 'layers').map((it) => it.path)),
      opts.dryRun === true,
    );
  const kept = items.filter((it) => !gone.has(it));
  return { removed, kept: { files: kept.length, bytes: kept.reduce((a, it) => a + it.bytes, 0) } };
}

/** Removes fingerprint index entries that name a removed blob (they would only be misses). */
async function dropOrphanIndexEntries(cacheDir: string, removedBlobs: ReadonlySet<string>, dryRun: boolean): Promise<number> {
  const dir = join(cacheDir, 'index');
  const blobs = join(cacheDir, 'blobs', 'sha256');
  let n = 0;
  for (const name of await list(dir)) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    const digest = await readFile(path, 'utf8').then(
      (t) => (JSON.parse(t) as { descriptor?: { digest?: unknown } }).descriptor?.digest,
      () => undefined,
    );
    if (typeof digest !== 'string' || !removedBlobs.has(join(blobs, digest.replace(/^sha256:/, '')))) continue;
    if (!dryRun) await rm(path, { force: true });
    n++;
  }
  return n;
}
