/**
 * Turns the chosen candidate file into a {@link WheelChoice}: its sha256 and size learned without
 * downloading whenever something already says them (the local file, the link's hash, an
 * unambiguous lock hash, the wheel cache, PEP 700 `size`, a HEAD), and a `fetch()` that downloads
 * and verifies only when the wheel's contents are actually needed.
 */
import { stat } from 'node:fs/promises';
import { ShaleError, InputError } from '../errors.js';
import type { Events } from '../events.js';
import { InterruptedError } from '../http/errors.js';
import { defaultPackageHttp, redact, type PackageHttp } from './http.js';
import { isPureWheel, parseWheelFilename } from './names.js';
import type { LockedPackage } from './requirements.js';
import type { Candidate } from './sources.js';
import { contentLength, stillServes } from './url-index.js';
import type { Downloaded } from './wheel-cache.js';
import type { Cache } from '../store/cache.js';

/** A wheel on local disk, verified. */
export interface WheelFile {
  /** A local file: in the cache for downloads, in place for find-links directories. */
  path: string;
  filename: string;
  /** Hex. */
  sha256: string;
  /** Every tag is abi `none` and platform `any`: the same file for every platform. */
  pure: boolean;
}

/** The wheel picked for a package, named by content but not necessarily on disk yet. */
export interface WheelChoice {
  filename: string;
  /** Hex. */
  sha256: string;
  /** Bytes of the .whl file. */
  size: number;
  /** Every tag is abi `none` and platform `any`. */
  pure: boolean;
  /** The file on disk, downloaded once (memoized) and verified against its hash and the lock. */
  fetch(): Promise<WheelFile>;
  /** Where the wheel comes from (its metadata can be read from there); absent for wheels built from an sdist. */
  candidate?: Candidate;
}

function where(c: Candidate): string {
  return c.url ? redact(c.url) : (c.path ?? c.filename);
}

/** Throws when `actual` contradicts the link's hash or the lock's hashes (the messages findWheel always gave). */
export function verify(pkg: LockedPackage, c: Candidate, actual: string): void {
  if (c.sha256 && c.sha256 !== actual) {
    throw new InputError(
      'SHALE_HASH_MISMATCH',
      `${c.filename} of ${pkg.name}==${pkg.version} from ${where(c)} has sha256:${actual}, but its link says sha256:${c.sha256}; the file is corrupt or was replaced. Check the ${c.origin}`,
    );
  }
  if (pkg.hashes.length > 0 && !pkg.hashes.includes(`sha256:${actual}`)) {
    throw new InputError(
      'SHALE_HASH_MISMATCH',
      `${c.filename} of ${pkg.name}==${pkg.version} from ${where(c)} has sha256:${actual}, but ${pkg.source.file}:${pkg.source.line} allows only ${pkg.hashes.join(', ')}. ` +
        'If the lock is stale, recompile it with hashes (uv pip compile --generate-hashes); otherwise the file was tampered with',
    );
  }
}

function changed(pkg: LockedPackage, c: Candidate, planned: string, actual: string): ShaleError {
  return new ShaleError(
    'SHALE_WHEEL_CHANGED',
    `${c.filename} of ${pkg.name}==${pkg.version} from ${where(c)} now has sha256:${actual}, but this build planned its layers with sha256:${planned}; the file changed during the build. Run the build again`,
  );
}

/** Memoizes a thunk; a failure is not kept, so a later call tries again. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    if (!p) {
      p = f();
      p.catch(() => (p = undefined));
    }
    return p;
  };
}

async function localChoice(pkg: LockedPackage, c: Candidate, path: string, pure: boolean, cache: Cache): Promise<WheelChoice> {
  // Hashed once per file version, remembered in the cache directory across runs.
  const hashLocal = (p: string) => cache.hashes.hash(p);
  const { sha256, size } = await hashLocal(path);
  verify(pkg, c, sha256);
  const fetch = once(async (): Promise<WheelFile> => {
    const now = await hashLocal(path);
    if (now.sha256 !== sha256) throw changed(pkg, c, sha256, now.sha256);
    return { path, filename: c.filename, sha256, pure };
  });
  return { filename: c.filename, sha256, size, pure, fetch };
}

/**
 * The sha256 of a remote candidate without downloading it, or undefined when nothing says it
 * unambiguously (then it must be downloaded). A link hash the lock does not allow is not
 * trusted either way: the download then reports the mismatch with the actual hash.
 */
async function knownHash(
  pkg: LockedPackage,
  c: Candidate,
  url: string,
  cache: Cache,
  http: PackageHttp,
): Promise<{ sha256: string; size?: number } | undefined> {
  const lock = pkg.hashes.map((h) => h.slice('sha256:'.length));
  if (c.sha256) return lock.length === 0 || lock.includes(c.sha256) ? { sha256: c.sha256 } : undefined;
  const rec = await cache.urls.get(url);
  const recFits = rec !== undefined && rec.filename === c.filename;
  if (lock.length === 1 && lock[0]) {
    // The only file the lock allows; unless this URL was seen serving another one.
    return recFits && rec.sha256 !== lock[0] ? undefined : { sha256: lock[0] };
  }
  if (lock.length > 1) {
    // One of several allowed files: a cached copy under exactly one of them names it.
    const cached: { sha256: string; size: number }[] = [];
    for (const sha of lock) {
      const size = await cache.wheels.size(sha, c.filename);
      if (size !== undefined) cached.push({ sha256: sha, size });
    }
    if (cached.length === 1 && cached[0]) return cached[0];
  }
  if (recFits && (lock.length === 0 || lock.includes(rec.sha256))) {
    const head = await http.head(url, c.authFrom).catch(unlessInterrupted);
    if (head && stillServes(rec, head)) return { sha256: rec.sha256, size: rec.size };
  }
  return undefined;
}

/** A HEAD that failed only means "ask otherwise"; Ctrl-C still stops the build. */
function unlessInterrupted(err: unknown): undefined {
  if (err instanceof InterruptedError) throw err;
  return undefined;
}

async function remoteChoice(
  pkg: LockedPackage,
  c: Candidate,
  url: string,
  cache: Cache,
  events: Events,
  pure: boolean,
  http: PackageHttp,
): Promise<WheelChoice> {
  const download = async (): Promise<Downloaded> => {
    const got = await cache.wheels.download(url, c.filename, (sha) => verify(pkg, c, sha), events, c.authFrom, http);
    await cache.urls.remember(url, c.filename, got);
    return got;
  };
  const file = (path: string, sha256: string): WheelFile => ({ path, filename: c.filename, sha256, pure });

  const known = await knownHash(pkg, c, url, cache, http);
  if (!known) {
    const got = await download();
    const done = Promise.resolve(file(got.path, got.sha256));
    return { filename: c.filename, sha256: got.sha256, size: got.size, pure, fetch: () => done };
  }
  const { sha256 } = known;
  const fetch = once(async (): Promise<WheelFile> => {
    const cached = await cache.wheels.read(sha256, c.filename);
    if (cached) {
      verify(pkg, c, sha256);
      return file(cached, sha256);
    }
    const got = await download();
    if (got.sha256 !== sha256) throw changed(pkg, c, sha256, got.sha256);
    return file(got.path, sha256);
  });
  let size = c.size ?? known.size ?? (await cache.wheels.size(sha256, c.filename));
  if (size === undefined) {
    const head = await http.head(url, c.authFrom).catch(unlessInterrupted);
    size = head?.ok ? contentLength(head) : undefined;
  }
  if (size === undefined) {
    // Nothing says the size without the bytes: download now (fetch() then has the file).
    const f = await fetch();
    size = (await stat(f.path)).size;
  }
  return { filename: c.filename, sha256, size, pure, fetch };
}

/**
 * The {@link WheelChoice} for candidate `c` of `pkg`: local files are hashed in place (once per
 * path, size and mtime); remote ones are named from their link hash, an unambiguous lock hash,
 * the cache or a revalidated earlier download, and downloaded here only when none says the hash.
 */
export async function chooseCandidate(
  pkg: LockedPackage,
  c: Candidate,
  cache: Cache,
  events: Events,
  http: PackageHttp = defaultPackageHttp(),
): Promise<WheelChoice> {
  const w = parseWheelFilename(c.filename);
  const pure = w ? isPureWheel(w) : false;
  const choice = c.path ? await localChoice(pkg, c, c.path, pure, cache) : await remoteChoice(pkg, c, c.url ?? '', cache, events, pure, http);
  return { ...choice, candidate: { ...c, sha256: choice.sha256 } };
}
