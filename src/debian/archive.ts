/**
 * A Debian archive as shale reads it, trusting nothing it did not check: `dists/SUITE/InRelease`
 * verified with the source's keys (signature.ts); each `Packages` index checked against the
 * SHA256 and size the signed Release lists; each .deb checked against the SHA256 of the index.
 * Indexes and .debs are kept in the local cache by their sha256 (the blob store re-hashes
 * what it reads), so a rebuild downloads only InRelease, and a locked build nothing at all.
 */
import { createHash } from 'node:crypto';
import { ShaleError } from '../errors.js';
import type { Digest } from '../oci/types.js';
import { redact, type HttpResponse } from '../python/http.js';
import type { BlobStore } from '../store/blob-store.js';
import { field, parseStanzas } from './control.js';
import { compressionOf, decompress } from './decompress.js';
import { verifyClearsigned, SignatureError } from './signature.js';
import type { PublicKey } from 'openpgp';

/** A file a signed Release lists: its path below dists/SUITE, size and sha256. */
export interface ReleaseFile {
  path: string;
  size: number;
  sha256: string;
}

/** A verified Release: its fields, and the files it vouches for by path. */
export interface Release {
  fields: Map<string, string>;
  files: Map<string, ReleaseFile>;
  byHash: boolean;
}

/** A refused download: wrong hash or signature. Exit 1, and nothing is written (`SHALE_DEBIAN_INTEGRITY`). */
export function integrityError(message: string): ShaleError {
  return new ShaleError('SHALE_DEBIAN_INTEGRITY', message);
}

/** What downloads go through: the build's package HTTP client (retries, timeouts, trust settings). */
export interface Fetcher {
  get(url: string, accept: string): Promise<HttpResponse>;
}

async function get(http: Fetcher, url: string): Promise<Buffer> {
  let res;
  try {
    res = await http.get(url, '*/*');
  } catch (err) {
    throw new ShaleError('SHALE_DEBIAN_FETCH', `fetching ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) {
    await res.cancel();
    throw new ShaleError('SHALE_DEBIAN_FETCH', `fetching ${redact(url)}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  return Buffer.from(await res.arrayBuffer());
}

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Downloads and verifies `dists/SUITE/InRelease` of `uri` with `keys`; returns the signed Release. */
export async function fetchRelease(http: Fetcher, uri: string, suite: string, keys: readonly PublicKey[]): Promise<Release> {
  const url = `${uri}/dists/${suite}/InRelease`;
  const text = (await get(http, url)).toString('utf8');
  let signed: string;
  try {
    signed = await verifyClearsigned(text, keys);
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    throw integrityError(
      `${redact(url)} failed its signature check: ${err.message}. Nothing was installed; check the source's keys (the base's keyrings, or ` +
        `signed-by in apt-sources)`,
    );
  }
  return parseRelease(signed, url);
}

/** Reads a Release file's fields and its SHA256 list. */
export function parseRelease(text: string, what: string): Release {
  const [fields] = parseStanzas(text, what);
  if (!fields) throw integrityError(`${what}: an empty Release file`);
  const files = new Map<string, ReleaseFile>();
  for (const line of (field(fields, 'SHA256') ?? '').split('\n')) {
    const [sha256, size, path] = line.trim().split(/\s+/);
    if (sha256 && size && path) files.set(path, { path, size: Number(size), sha256: sha256.toLowerCase() });
  }
  if (!files.size) throw integrityError(`${what} lists no SHA256 sums; shale needs them to check what it downloads`);
  return { fields, files, byHash: (field(fields, 'Acquire-By-Hash') ?? '').toLowerCase() === 'yes' };
}

/**
 * Gets a file by its known sha256: from the cache when it holds it (re-hashed as it is read),
 * else from `url`, checked, and then stored. A mismatch is an integrity error naming the URL.
 */
export async function fetchVerified(http: Fetcher, store: BlobStore, url: string, sha256: string, size: number | undefined, what: string): Promise<Buffer> {
  const digest = `sha256:${sha256}` as Digest;
  if (await store.has(digest)) {
    try {
      const parts: Buffer[] = [];
      for await (const c of await store.open(digest)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    } catch (err) {
      // A damaged copy was removed by the store; fetch it again.
      if (!(err instanceof ShaleError && err.code === 'SHALE_BLOB_CORRUPT')) throw err;
    }
  }
  const bytes = await get(http, url);
  const got = sha256Hex(bytes);
  if (got !== sha256 || (size !== undefined && size > 0 && bytes.length !== size)) {
    throw integrityError(
      `${what} from ${redact(url)} does not match the signed index (sha256 ${got}, ${bytes.length} bytes; expected ` +
        `${sha256}${size ? `, ${size} bytes` : ''}). Nothing was installed; the mirror may be mid-update or tampered with: try again, or use another mirror`,
    );
  }
  await store.putBytes(bytes);
  return bytes;
}

/** The form of `COMPONENT/binary-ARCH/Packages` shale reads: .xz when the Release lists it, else .gz, else the plain file. */
export function packagesFile(release: Release, component: string, arch: string): ReleaseFile | undefined {
  const base = `${component}/binary-${arch}/Packages`;
  for (const path of [`${base}.xz`, `${base}.gz`, base]) {
    const f = release.files.get(path);
    if (f) return f;
  }
  return undefined;
}

/**
 * The bytes of `COMPONENT/binary-ARCH/Packages` as the Release vouches for it: the .xz form
 * when listed, else .gz, else the plain file. Undefined when the Release lists none (the
 * suite has no such component or architecture).
 */
export async function fetchPackages(
  http: Fetcher,
  store: BlobStore,
  uri: string,
  suite: string,
  release: Release,
  component: string,
  arch: string,
): Promise<Buffer | undefined> {
  const f = packagesFile(release, component, arch);
  if (f) {
    const path = f.path;
    const dir = path.slice(0, path.lastIndexOf('/'));
    const url = release.byHash ? `${uri}/dists/${suite}/${dir}/by-hash/SHA256/${f.sha256}` : `${uri}/dists/${suite}/${path}`;
    const bytes = await fetchVerified(http, store, url, f.sha256, f.size, `${suite}/${path}`);
    try {
      // The Release lists the plain file too (whether or not the mirror has it): its size is what the bytes come to.
      return await decompress(bytes, compressionOf(path), release.files.get(`${component}/binary-${arch}/Packages`)?.size);
    } catch (err) {
      throw integrityError(`${uri}/dists/${suite}/${path} matched its hash but cannot be decompressed (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return undefined;
}
