/**
 * Finds the wheel of one pinned package for one target image, the way pip would pick it
 * (packaging tag order), hashes enforced. `resolveWheel` names the file (sha256, size) without
 * downloading when it can; `findWheel` also fetches it. A file a lock names is found wherever it
 * is (find-links, the configured indexes, the lock's own URL): the hash decides, not the URL.
 */
import { InputError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { isPureWheel, matchSdistFilename, normalizeName, normalizeVersion, parseWheelFilename } from './names.js';
import type { LockedPackage } from './requirements.js';
import { chooseSdist } from './sdist-build.js';
import { canExtractSdist } from './safe-extract.js';
import { describeSources, listCandidates, type Candidate, type PackageSources } from './sources.js';
import { describeEnv, tagIndex, wheelRank, type TargetEnv } from './tags.js';
import { chooseCandidate, type WheelChoice, type WheelFile } from './wheel-choice.js';
import type { Cache } from '../store/cache.js';
import { redact, type PackageHttp } from './http.js';

export type { PackageSources } from './sources.js';
export type { WheelChoice, WheelFile } from './wheel-choice.js';

const MAX_LISTED = 25;

/** How {@link resolveWheel} looks for files. */
export interface FindOptions {
  /** The files to choose among, already listed (a resolution's); no lookup then. */
  candidates?: Candidate[];
  /**
   * Look for a lock's files on the indexes too (an index-url, PIP_INDEX_URL / UV_INDEX_URL or a
   * mirror was configured): the lock's own URLs are then the last resort.
   */
  searchIndexes?: boolean;
}

/** A file a lock names, as a candidate (hash and size as the lock says). */
function lockCandidate(pkg: LockedPackage, f: NonNullable<LockedPackage['files']>[number]): Candidate {
  const c: Candidate = { filename: f.filename, origin: `lock ${pkg.source.file}` };
  if (f.url !== undefined) c.url = f.url;
  if (f.path !== undefined) c.path = f.path;
  if (f.sha256 !== undefined) c.sha256 = f.sha256;
  if (f.size !== undefined && f.path === undefined) c.size = f.size;
  return c;
}

/**
 * The places a lock's files can come from, best first: the same file name with the same hash in
 * find-links (local, no network), on an index (a company mirror), then the lock's own URL or
 * path. A file whose hash differs from the lock's is never a candidate.
 */
async function lockCandidates(pkg: LockedPackage, sources: PackageSources, cache: Cache, opts: FindOptions): Promise<Candidate[]> {
  const files = pkg.files ?? [];
  const name = normalizeName(pkg.name);
  const hasOwn = files.every((f) => f.url !== undefined || f.path !== undefined);
  /** Candidates of a listing whose file name and hash match a file of the lock. */
  const matching = async (found: Candidate[]): Promise<Candidate[]> => {
    const out: Candidate[] = [];
    for (const f of files) {
      for (const m of found.filter((c) => c.filename === f.filename)) {
        if (m.path) {
          const { sha256 } = await cache.hashes.hash(m.path);
          if (f.sha256 === undefined || sha256 === f.sha256) out.push({ ...m, sha256 });
        } else if (m.sha256 === undefined || f.sha256 === undefined || m.sha256 === f.sha256) {
          const c: Candidate = { ...m };
          if (c.sha256 === undefined && f.sha256 !== undefined) c.sha256 = f.sha256;
          if (c.size === undefined && f.size !== undefined) c.size = f.size;
          out.push(c);
        }
      }
    }
    return out;
  };
  // find-links first: local files need no network, and with them an index is not asked at all.
  const local = sources.findLinks.length ? await matching(await listCandidates(name, { ...sources, noIndex: true })) : [];
  const useIndexes = local.length === 0 && !sources.noIndex && (opts.searchIndexes === true || pkg.index !== undefined || !hasOwn);
  let remote: Candidate[] = [];
  if (useIndexes) {
    const extra = pkg.index !== undefined ? [pkg.index] : [];
    try {
      remote = await matching(await listCandidates(name, { ...sources, findLinks: [], extraIndexUrls: [...(sources.extraIndexUrls ?? []), ...extra] }));
    } catch (err) {
      // With the lock's own URLs to fall back on, an unreachable mirror is not fatal.
      if (!hasOwn) throw err;
    }
  }
  const own = files.filter((f) => f.url !== undefined || f.path !== undefined).map((f) => lockCandidate(pkg, f));
  return [...local, ...remote, ...own];
}

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown}, and ${names.length - MAX_LISTED} more` : shown;
}

function isPure(filename: string): boolean {
  const w = parseWheelFilename(filename);
  return w !== undefined && isPureWheel(w);
}

/**
 * The wheel built from one of `sdists` (all of `pkg`'s exact version): one whose hash the lock
 * allows first, then .tar.gz before .zip, local before remote. Formats shale cannot unpack are
 * an error that says to provide a wheel.
 */
function chooseSdistOf(
  pkg: LockedPackage,
  sdists: Candidate[],
  env: TargetEnv,
  cache: Cache,
  events: Events,
  http: PackageHttp | undefined,
): Promise<WheelChoice> {
  const usable = sdists.filter((s) => canExtractSdist(s.filename));
  const pin = `${pkg.name}==${pkg.version}`;
  if (usable.length === 0) {
    throw new InputError(
      'SHALE_SDIST_ONLY',
      `${pin} (pinned at ${pkg.source.file}:${pkg.source.line}) has only source distributions (${listNames(sdists.map((s) => s.filename))}), and shale builds only .tar.gz and .zip ones. Build a wheel for ${describeEnv(env)} (e.g. \`pip wheel --no-deps ${pin} -w wheels/\` on a matching machine) and add that directory to find-links`,
    );
  }
  const score = (s: Candidate): number =>
    (pkg.hashes.length === 0 || s.sha256 === undefined || pkg.hashes.includes(`sha256:${s.sha256}`) ? 0 : 4) +
    (/\.zip$/i.test(s.filename) ? 2 : 0) +
    (s.path ? 0 : 1);
  const [best = usable[0] as Candidate] = [...usable].sort((a, b) => score(a) - score(b));
  return chooseSdist(pkg, best, env, cache, events, http);
}

/**
 * The wheel for `pkg` on `env`, on disk and verified: {@link resolveWheel}, then its `fetch()`.
 */
export async function findWheel(
  pkg: LockedPackage,
  env: TargetEnv,
  sources: PackageSources,
  cache: Cache,
  events: Events = noEvents,
  opts: FindOptions = {},
): Promise<WheelFile> {
  return (await resolveWheel(pkg, env, sources, cache, events, opts)).fetch();
}

/**
 * The wheel for `pkg` on `env`: candidates from find-links and the index, filtered by name and
 * version, ranked by tag. Its sha256 and size come from the local file, the link's `#sha256=` or
 * PEP 691 hashes, an unambiguous lock hash, the cache, PEP 700 `size` or a HEAD; it is downloaded
 * here only when its hash cannot be known otherwise. `fetch()` downloads (once) and checks it
 * against the lock's hashes and the link's hash. A version with only an sdist gets the pure
 * wheel built from it (sdist-build.ts). Errors say which files exist when none fits.
 */
export async function resolveWheel(
  pkg: LockedPackage,
  env: TargetEnv,
  sources: PackageSources,
  cache: Cache,
  events: Events = noEvents,
  opts: FindOptions = {},
): Promise<WheelChoice> {
  const name = normalizeName(pkg.name);
  const version = normalizeVersion(pkg.version);
  // A lock that names the package's files (pylock.toml, uv.lock, poetry.lock) limits it to those files.
  const all = opts.candidates ?? (pkg.files ? await lockCandidates(pkg, sources, cache, opts) : await listCandidates(name, sources));
  const wheels: Candidate[] = [];
  const sdists: Candidate[] = [];
  const otherVersions = new Set<string>();
  for (const c of all) {
    const w = parseWheelFilename(c.filename);
    if (w) {
      if (normalizeName(w.name) !== name) continue;
      if (normalizeVersion(w.version) === version) wheels.push(c);
      else otherVersions.add(w.version);
      continue;
    }
    const s = matchSdistFilename(c.filename, name);
    if (s && normalizeVersion(s.version) === version) sdists.push(c);
    else if (s) otherVersions.add(s.version);
  }
  const pin = `${pkg.name}==${pkg.version}`;
  const at = `(pinned at ${pkg.source.file}:${pkg.source.line})`;
  if (wheels.length === 0 && sdists.length > 0) return chooseSdistOf(pkg, sdists, env, cache, events, sources.http);
  if (wheels.length === 0 && pkg.files) {
    const named = pkg.files.map((f) => f.filename);
    if (named.some((f) => parseWheelFilename(f) !== undefined)) {
      const where = describeSources(sources).join(', ') || 'no sources (no-index and no find-links)';
      throw new InputError(
        'SHALE_NO_WHEEL',
        `${pin} ${at}: none of the files the lock names (${listNames(named)}) was found with its hash; looked in ${where}${pkg.index ? ` and index ${redact(pkg.index)}` : ''}. Add the directory that holds them to find-links, or set index-url to an index that serves them`,
      );
    }
    throw new InputError('SHALE_NO_WHEEL', `${pin} ${at} lists no wheel of that name and version (files: ${listNames(named) || 'none'}); regenerate the lock`);
  }
  if (wheels.length === 0) {
    const others = otherVersions.size ? ` Versions found: ${listNames([...otherVersions].sort())}; pin one of them or add the wheel to find-links.` : '';
    throw new InputError(
      'SHALE_NO_WHEEL',
      `no files for ${pin} ${at} found in: ${describeSources(sources).join(', ') || 'no sources (no-index and no find-links)'}.${others}`,
    );
  }

  // A file name is one file on an index, so a hash (or size) published by any source applies to all links to it.
  const known = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (const w of wheels) {
    if (w.sha256) known.set(w.filename, w.sha256);
    if (w.size !== undefined) sizes.set(w.filename, w.size);
  }
  for (const w of wheels) {
    const h = known.get(w.filename);
    if (h && !w.sha256) w.sha256 = h;
    const n = sizes.get(w.filename);
    if (n !== undefined && w.size === undefined && !w.path) w.size = n;
  }
  const idx = tagIndex(env);
  const allowed = (c: Candidate): boolean => pkg.hashes.length === 0 || c.sha256 === undefined || pkg.hashes.includes(`sha256:${c.sha256}`);
  const rank = (cands: Candidate[]): Candidate | undefined => {
    let best: { c: Candidate; r: number } | undefined;
    for (const c of cands) {
      const r = wheelRank(c.filename, idx);
      if (r !== undefined && (!best || r < best.r)) best = { c, r };
    }
    return best?.c;
  };
  // Like pip, a file whose published hash the lock does not allow is passed over; only when
  // nothing else fits is it taken, so that the mismatch is reported.
  const chosen = rank(wheels.filter(allowed)) ?? rank(wheels);
  // Only pure wheels that do not fit (say py2-only): the sdist may build one that does. A
  // package with native wheels for other platforms would need a compiler: report the wheels.
  if (!chosen && sdists.length > 0 && wheels.every((w) => isPure(w.filename))) return chooseSdistOf(pkg, sdists, env, cache, events, sources.http);
  if (!chosen) {
    throw new InputError(
      'SHALE_NO_WHEEL',
      `no wheel of ${pin} ${at} fits ${describeEnv(env)}. Wheels that exist: ${listNames([...new Set(wheels.map((w) => w.filename))].sort())}. ` +
        'Pick a base image and platforms these wheels support, pin a version that has a fitting wheel, or add one to find-links.',
    );
  }
  return chooseCandidate(pkg, chosen, cache, events, sources.http);
}
