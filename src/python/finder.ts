/**
 * Finds, downloads and verifies the wheel of one locked package for one target image, the way
 * pip would pick it (packaging tag order), but from a lock: no resolution, hashes enforced.
 */
import { InputError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { redact } from './http.js';
import { isPureWheel, matchSdistFilename, normalizeName, normalizeVersion, parseWheelFilename } from './names.js';
import type { LockedPackage } from './requirements.js';
import { describeSources, listCandidates, type Candidate, type PackageSources } from './sources.js';
import { describeEnv, tagIndex, wheelRank, type TargetEnv } from './tags.js';
import { downloadToCache, hashFile, readCachedWheel } from './wheel-cache.js';

export type { PackageSources } from './sources.js';

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

const MAX_LISTED = 25;

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown}, and ${names.length - MAX_LISTED} more` : shown;
}

/**
 * The wheel for `pkg` on `env`: candidates from find-links and the index, filtered by name and
 * version, ranked by tag, then taken from the cache or downloaded, and checked against the lock's
 * hashes and the link's `#sha256=`. Errors say which files exist when none fits.
 */
export async function findWheel(
  pkg: LockedPackage,
  env: TargetEnv,
  sources: PackageSources,
  cacheDir: string,
  events: Events = noEvents,
): Promise<WheelFile> {
  const name = normalizeName(pkg.name);
  const version = normalizeVersion(pkg.version);
  const all = await listCandidates(name, sources);
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
  if (wheels.length === 0 && sdists.length > 0) {
    throw new InputError(
      'SHALE_SDIST_ONLY',
      `${pin} ${at} has only source distributions (${listNames(sdists.map((s) => s.filename))}); shale does not build sdists yet. Build a wheel for ${describeEnv(env)} (e.g. \`pip wheel --no-deps ${pin} -w wheels/\` on a matching machine) and add that directory to find-links`,
    );
  }
  if (wheels.length === 0) {
    const others = otherVersions.size ? ` Versions found: ${listNames([...otherVersions].sort())}; pin one of them or add the wheel to find-links.` : '';
    throw new InputError('SHALE_NO_WHEEL', `no files for ${pin} ${at} found in: ${describeSources(sources).join(', ') || 'no sources (no-index and no find-links)'}.${others}`);
  }

  // A file name is one file on an index, so a hash published by any source applies to all links to it.
  const known = new Map<string, string>();
  for (const w of wheels) if (w.sha256) known.set(w.filename, w.sha256);
  for (const w of wheels) {
    const h = known.get(w.filename);
    if (h && !w.sha256) w.sha256 = h;
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
  if (!chosen) {
    throw new InputError(
      'SHALE_NO_WHEEL',
      `no wheel of ${pin} ${at} fits ${describeEnv(env)}. Wheels that exist: ${listNames([...new Set(wheels.map((w) => w.filename))].sort())}. ` +
        'Pick a base image and platforms these wheels support, pin a version that has a fitting wheel, or add one to find-links.',
    );
  }
  return fetchCandidate(pkg, chosen, cacheDir, events);
}

function verify(pkg: LockedPackage, c: Candidate, actual: string): void {
  const where = c.url ? redact(c.url) : (c.path ?? c.filename);
  if (c.sha256 && c.sha256 !== actual) {
    throw new InputError(
      'SHALE_HASH_MISMATCH',
      `${c.filename} of ${pkg.name}==${pkg.version} from ${where} has sha256:${actual}, but its link says sha256:${c.sha256}; the file is corrupt or was replaced. Check the ${c.origin}`,
    );
  }
  if (pkg.hashes.length > 0 && !pkg.hashes.includes(`sha256:${actual}`)) {
    throw new InputError(
      'SHALE_HASH_MISMATCH',
      `${c.filename} of ${pkg.name}==${pkg.version} from ${where} has sha256:${actual}, but ${pkg.source.file}:${pkg.source.line} allows only ${pkg.hashes.join(', ')}. ` +
        'If the lock is stale, recompile it with hashes (uv pip compile --generate-hashes); otherwise the file was tampered with',
    );
  }
}

async function fetchCandidate(pkg: LockedPackage, c: Candidate, cacheDir: string, events: Events): Promise<WheelFile> {
  const w = parseWheelFilename(c.filename);
  const pure = w ? isPureWheel(w) : false;
  if (c.path) {
    const sha256 = await hashFile(c.path);
    verify(pkg, c, sha256);
    return { path: c.path, filename: c.filename, sha256, pure };
  }
  const url = c.url ?? '';
  // With a known hash, a cached copy saves the download.
  const known = c.sha256 ? [c.sha256] : pkg.hashes.map((h) => h.slice('sha256:'.length));
  for (const sha of known) {
    const path = await readCachedWheel(cacheDir, sha, c.filename);
    if (path) {
      verify(pkg, c, sha);
      return { path, filename: c.filename, sha256: sha, pure };
    }
  }
  const got = await downloadToCache(url, c.filename, cacheDir, (sha) => verify(pkg, c, sha), events, c.authFrom);
  return { path: got.path, filename: c.filename, sha256: got.sha256, pure };
}
