/**
 * The core metadata of a wheel candidate, for a resolver that must read the dependencies of
 * many versions it will never install. Cheapest first: a cached copy (by the wheel's sha256), a
 * local wheel, the index's PEP 658 `.metadata` file, two HTTP Range reads of a remote wheel
 * (its central directory, then the METADATA member), and only then the whole wheel, downloaded
 * into the wheel cache so that installing it later costs nothing more.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { InputError, ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Cache } from '../store/cache.js';
import { parseCoreMetadata, type CoreMetadata } from './core-metadata.js';
import { InterruptedError } from '../http/errors.js';
import { defaultPackageHttp, redact, type HttpResponse, type PackageHttp } from './http.js';
import { normalizeName, parseWheelFilename } from './names.js';
import type { Candidate } from './sources.js';

export type { CoreMetadata } from './core-metadata.js';

/** The first Range read: the end-of-central-directory record with the longest comment (65557 bytes) and, usually, the whole central directory. */
const TAIL = 128 * 1024;
/** Room for a local header's extra field, which may differ from the central directory's (zip64). */
const HEADER_SLACK = 1024;
const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
/** A METADATA member larger than this is not metadata (a zip bomb, a damaged file). */
const MAX_METADATA = 32 * 1024 * 1024;

/** Random access to a zip's bytes: a local file, or a remote one through Range requests. */
interface ZipSource {
  readonly size: number;
  /**
   * Bytes [start, end). `directory` reads (the central directory, walked forward a record at a
   * time) may fetch more than asked, so that walking it costs one request, not one per record.
   */
  read(start: number, end: number, directory?: boolean): Promise<Buffer>;
}

/** A remote zip read that gave up; the caller downloads the whole file instead. */
class RangeUnusable extends Error {}

/** yauzl's view of a {@link ZipSource}: yauzl parses the (zip64) end record and the central directory. */
class SourceReader extends yauzl.RandomAccessReader {
  constructor(private readonly src: ZipSource) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const src = this.src;
    return Readable.from(
      (async function* () {
        yield await src.read(start, end, true);
      })(),
    );
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    this.src.read(position, position + length, true).then(
      (b) => {
        b.copy(buffer, offset);
        callback(null, b.length);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  }
}

/** The central directory's entries (names and where each member is). */
async function listEntries(src: ZipSource): Promise<yauzl.Entry[]> {
  const zip = await yauzl.fromRandomAccessReaderPromise(new SourceReader(src), src.size, { lazyEntries: true, autoClose: false, strictFileNames: false });
  const out: yauzl.Entry[] = [];
  try {
    for await (const e of zip.eachEntry()) out.push(e);
  } finally {
    zip.close();
  }
  return out;
}

/**
 * The `.dist-info` directory of a wheel, as the wheel spec (binary distribution format,
 * "The .dist-info directory") has it: `{name}-{version}.dist-info` at the top level, whose name
 * part normalizes to the file name's distribution (old wheels escape names differently, so
 * compare normalized, as pip does). Several candidates: the one whose version matches too.
 */
export function findDistInfo(names: readonly string[], filename: string): string | undefined {
  const w = parseWheelFilename(filename);
  if (!w) return undefined;
  const dirs = new Set<string>();
  for (const n of names) {
    const top = n.split('/')[0] ?? '';
    if (n.includes('/') && top.endsWith('.dist-info')) dirs.add(top);
  }
  const want = normalizeName(w.name);
  const matching = [...dirs].filter((d) => {
    const stem = d.slice(0, -'.dist-info'.length);
    const dash = stem.lastIndexOf('-');
    return normalizeName(dash > 0 ? stem.slice(0, dash) : stem) === want;
  });
  if (matching.length <= 1) return matching[0];
  return matching.find((d) => d.slice(0, -'.dist-info'.length).endsWith(`-${w.version}`));
}

/** The member `<dist-info>/METADATA` of a wheel's entries, or a reason why there is none. */
function metadataEntry(entries: yauzl.Entry[], filename: string): { entry: yauzl.Entry; member: string } | { missing: string } {
  const distInfo = findDistInfo(
    entries.map((e) => e.fileName),
    filename,
  );
  if (!distInfo) return { missing: `has no .dist-info directory named for its distribution (${parseWheelFilename(filename)?.name ?? filename})` };
  const member = `${distInfo}/METADATA`;
  const entry = entries.find((e) => e.fileName === member);
  return entry ? { entry, member } : { missing: `has no ${member}` };
}

/**
 * A member's bytes through its local header: stored or deflated, at most {@link MAX_METADATA},
 * its size and CRC-32 checked against the central directory (range reads carry no hash).
 * Throws a plain Error with the reason; callers phrase it.
 */
async function readMemberBytes(src: ZipSource, entry: yauzl.Entry): Promise<Buffer> {
  const method = entry.compressionMethod;
  if (entry.isEncrypted()) throw new Error('is encrypted');
  if (method !== 0 && method !== 8) throw new Error(`uses compression method ${method}`);
  if (entry.uncompressedSize > MAX_METADATA || entry.compressedSize > MAX_METADATA)
    throw new Error(`is ${entry.uncompressedSize} bytes, too large for metadata`);
  const at = entry.relativeOffsetOfLocalHeader;
  const guess = LOCAL_HEADER_SIZE + entry.fileNameLength + entry.extraFieldLength + HEADER_SLACK + entry.compressedSize;
  let head = await src.read(at, Math.min(src.size, at + guess));
  if (head.length < LOCAL_HEADER_SIZE || head.readUInt32LE(0) !== LOCAL_HEADER) throw new Error('has no local file header where the central directory points');
  const dataAt = LOCAL_HEADER_SIZE + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (dataAt + entry.compressedSize > head.length)
    head = Buffer.concat([head.subarray(0, dataAt), await src.read(at + dataAt, at + dataAt + entry.compressedSize)]);
  const raw = head.subarray(dataAt, dataAt + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error('is cut short');
  let data: Buffer;
  try {
    data = method === 0 ? Buffer.from(raw) : inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
  } catch (err) {
    throw new Error(`does not inflate: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (data.length !== entry.uncompressedSize) throw new Error(`has ${data.length} bytes, not the ${entry.uncompressedSize} its directory entry says`);
  if (crc32(data) >>> 0 !== entry.crc32 >>> 0) throw new Error('fails its CRC-32 check');
  return data;
}

/** Bytes a directory read of a local wheel reads at once (one read per record cost ~70 µs each through the thread pool). */
const LOCAL_WINDOW = 1 << 20;

/** A wheel file on disk as a {@link ZipSource}; directory reads go through a 1 MiB window. */
async function fileSource(path: string): Promise<{ src: ZipSource; fh: FileHandle }> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  const readAt = async (start: number, end: number): Promise<Buffer> => {
    const buf = Buffer.alloc(Math.max(0, Math.min(end, size) - start));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  };
  let win: { start: number; data: Buffer } | undefined;
  const src: ZipSource = {
    size,
    async read(start, end, directory = false) {
      end = Math.min(end, size);
      if (win && start >= win.start && end <= win.start + win.data.length) return win.data.subarray(start - win.start, end - win.start);
      if (!directory) return readAt(start, end);
      win = { start, data: await readAt(start, Math.max(end, start + LOCAL_WINDOW)) };
      return win.data.subarray(0, end - start);
    },
  };
  return { src, fh };
}

/** The METADATA text of a zip source; `where` names the wheel in errors. */
async function metadataText(src: ZipSource, filename: string, fail: (why: string) => Error): Promise<{ text: string; member: string }> {
  let entries: yauzl.Entry[];
  try {
    entries = await listEntries(src);
  } catch (err) {
    if (err instanceof RangeUnusable || err instanceof ShaleError) throw err;
    throw fail(`cannot be read as a zip file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const found = metadataEntry(entries, filename);
  if ('missing' in found) throw fail(found.missing);
  try {
    return { text: new TextDecoder('utf-8').decode(await readMemberBytes(src, found.entry)), member: found.member };
  } catch (err) {
    if (err instanceof RangeUnusable || err instanceof ShaleError) throw err;
    throw fail(`member ${found.member} ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The core metadata of a wheel on disk, read from `<name>-<version>.dist-info/METADATA` in
 * place (the central directory and that one member; nothing is unpacked). `filename` is the
 * wheel's file name, which says which .dist-info directory is the wheel's own.
 */
export async function readWheelMetadata(path: string, filename: string): Promise<CoreMetadata> {
  const { text, member } = await readWheelMetadataText(path, filename);
  return parseCoreMetadata(text, `${filename} (${member})`);
}

/** The METADATA text of a wheel file and the member it was read from; errors as {@link readWheelMetadata}'s. */
async function readWheelMetadataText(path: string, filename: string): Promise<{ text: string; member: string }> {
  const fail = (why: string): InputError =>
    new InputError(
      'SHALE_BAD_WHEEL',
      `wheel ${filename} (${path}) ${why}; it is not a valid wheel. Rebuild it, or delete it (from the cache or find-links) and download it again`,
    );
  let opened: { src: ZipSource; fh: FileHandle };
  try {
    opened = await fileSource(path);
  } catch (err) {
    throw new InputError('SHALE_BAD_WHEEL', `cannot open wheel ${filename} at ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    return await metadataText(opened.src, filename, fail);
  } finally {
    await opened.fh.close();
  }
}

const rangeHeaders = (range: string): Record<string, string> => ({ range: `bytes=${range}`, 'accept-encoding': 'identity' });
const CONTENT_RANGE_RE = /^bytes (\d+)-(\d+)\/(\d+)$/;

async function drop(res: HttpResponse): Promise<void> {
  await res.cancel().catch(() => undefined);
}

/**
 * A remote wheel through HTTP Range requests (RFC 9110 §14). Fetched ranges are kept; a
 * directory read that misses is extended to the next fetched range, so a central directory
 * longer than the first tail read costs one more request. Anything unexpected (a 200 for the
 * whole file, no Content-Range, reading more than half the file) is {@link RangeUnusable}.
 */
class RangeSource implements ZipSource {
  private readonly segments: { start: number; data: Buffer }[] = [];
  requests = 0;
  fetched = 0;
  etag: string | undefined;
  lastModified: string | undefined;
  private constructor(
    private readonly http: PackageHttp,
    private readonly url: string,
    private readonly authFrom: string | undefined,
    public size: number,
  ) {}

  /** Reads the last {@link TAIL} bytes, learning the file's size from Content-Range. */
  static async open(http: PackageHttp, url: string, authFrom: string | undefined): Promise<RangeSource> {
    const s = new RangeSource(http, url, authFrom, 0);
    const res = await http.get(url, '*/*', authFrom, rangeHeaders(`-${TAIL}`));
    s.requests++;
    const got = await s.take(res, undefined);
    s.size = got.total;
    s.etag = res.headers.get('etag') ?? undefined;
    s.lastModified = res.headers.get('last-modified') ?? undefined;
    s.segments.push({ start: got.start, data: got.data });
    s.fetched += got.data.length;
    return s;
  }

  /** The whole file, when the first read covered it (a wheel smaller than {@link TAIL}). */
  whole(): Buffer | undefined {
    const first = this.segments[0];
    return first && first.start === 0 && first.data.length === this.size ? first.data : undefined;
  }

  private async take(res: HttpResponse, wantStart: number | undefined): Promise<{ start: number; data: Buffer; total: number }> {
    if (res.status !== 206) {
      await drop(res);
      throw new RangeUnusable(`answered HTTP ${res.status} to a Range request`);
    }
    const m = CONTENT_RANGE_RE.exec((res.headers.get('content-range') ?? '').trim());
    const enc = (res.headers.get('content-encoding') ?? 'identity').toLowerCase();
    if (!m || enc !== 'identity') {
      await drop(res);
      throw new RangeUnusable('answered a Range request without a usable Content-Range');
    }
    const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const data = Buffer.from(await res.arrayBuffer());
    if (data.length !== end - start + 1 || end >= total || (wantStart !== undefined && start !== wantStart) || (this.size && total !== this.size)) {
      throw new RangeUnusable(`answered bytes ${start}-${end}/${total} (${data.length} bytes) to a Range request`);
    }
    return { start, data, total };
  }

  async read(start: number, end: number, directory = false): Promise<Buffer> {
    end = Math.min(end, this.size);
    if (start >= end) return Buffer.alloc(0);
    const hit = this.segments.find((s) => s.start <= start && end <= s.start + s.data.length);
    if (hit) return hit.data.subarray(start - hit.start, end - hit.start);
    // A directory read joins the range that follows, so later records are in one piece.
    const next = directory ? this.segments.filter((s) => s.start > start).sort((a, b) => a.start - b.start)[0] : undefined;
    const to = next ? Math.max(end, next.start) : end;
    if (this.fetched + (to - start) > this.size / 2) throw new RangeUnusable('would read more than half the file in ranges');
    const res = await this.http.get(this.url, '*/*', this.authFrom, rangeHeaders(`${start}-${to - 1}`));
    this.requests++;
    const got = await this.take(res, start);
    this.fetched += got.data.length;
    if (next && to === next.start) {
      next.start = start;
      next.data = Buffer.concat([got.data, next.data]);
    } else this.segments.push({ start, data: got.data });
    return this.read(start, end, false);
  }
}

const sha256Hex = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Core metadata of wheel candidates, cheapest way first, each file's read at most once at a
 * time (concurrent `get`s of one file share one read) and remembered for the process. The
 * cache's metadata records (python/metadata-cache.ts) keep what was read across runs.
 */
export class MetadataFetcher {
  private readonly inFlight = new Map<string, Promise<CoreMetadata>>();

  constructor(
    private readonly cache: Cache,
    private readonly events: Events,
    private readonly http: PackageHttp = defaultPackageHttp(),
  ) {}

  /**
   * The core metadata of one candidate: (a) the metadata cache when its sha256 is known, (b) a
   * local wheel read in place, (c) the wheel cache, (d) the index's PEP 658 file when the link
   * advertises it, (e) Range reads of the remote wheel, (f) the whole wheel into the wheel cache.
   */
  get(c: Candidate): Promise<CoreMetadata> {
    const key = c.sha256 ? `sha256:${c.sha256}` : c.path ? `path:${c.path}` : `url:${c.url ? redact(c.url) : c.filename}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.load(c);
      this.inFlight.set(key, p);
      p.catch(() => this.inFlight.delete(key));
    }
    return p;
  }

  private debug(c: Candidate, how: string): void {
    this.events({ type: 'log', level: 'debug', message: `metadata of ${c.filename}: ${how}` });
  }

  /** The cached metadata of the wheel with this hash; a damaged record is removed (then read again), never an error. */
  private async readCache(sha256: string, c: Candidate): Promise<CoreMetadata | undefined> {
    const hit = await this.cache.metadata.get(sha256);
    if (hit && 'text' in hit) {
      try {
        return parseCoreMetadata(hit.text, `${c.filename} (cached ${hit.path})`);
      } catch {
        await this.cache.metadata.drop(sha256);
      }
    }
    if (hit) this.debug(c, `cached record ${this.cache.metadata.path(sha256)} is damaged; removed, reading it again`);
    return undefined;
  }

  /** Keeps the text for the wheel with this hash; a failure to write only costs a later read. */
  private async writeCache(sha256: string, filename: string, text: string): Promise<void> {
    try {
      await this.cache.metadata.set(sha256, filename, text);
    } catch (err) {
      this.events({
        type: 'log',
        level: 'debug',
        message: `cannot cache the metadata of ${filename} at ${this.cache.metadata.path(sha256)}: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  private async load(c: Candidate): Promise<CoreMetadata> {
    if (c.sha256) {
      const hit = await this.readCache(c.sha256, c);
      if (hit) {
        this.debug(c, 'from the metadata cache');
        return hit;
      }
    }
    if (c.path) {
      // A local wheel (find-links): by its content hash (remembered by stat data, and needed for
      // the layer's fingerprint anyway) from the metadata cache, so an unchanged wheel's zip is
      // not opened again; a big wheel's central directory costs tens of milliseconds to read.
      const { sha256 } = c.sha256 ? { sha256: c.sha256 } : await this.cache.hashes.hash(c.path);
      if (!c.sha256) {
        const hit = await this.readCache(sha256, c);
        if (hit) {
          this.debug(c, `from the metadata cache (the local wheel ${c.path}, unchanged)`);
          return hit;
        }
      }
      const { text, member } = await readWheelMetadataText(c.path, c.filename);
      return this.remember(c, text, member, `read from the local wheel ${c.path}`, sha256);
    }
    const url = c.url;
    if (!url) throw new ShaleError('SHALE_RUNTIME', `candidate ${c.filename} from ${c.origin} has neither a URL nor a path; this is a bug in shale`);
    if (c.sha256) {
      const cached = await this.cache.wheels.read(c.sha256, c.filename);
      if (cached) return this.fromWheelFile(c, cached, c.sha256, 'read from the wheel cache');
    }
    if (c.metadata) {
      const text = await this.pep658(c, url, c.metadata.sha256);
      if (text !== undefined) return this.remember(c, text, `${redact(url)}.metadata`, 'from the index (PEP 658 .metadata)');
    }
    if (!parseWheelFilename(c.filename)) {
      throw new InputError(
        'SHALE_NOT_A_WHEEL',
        `${c.filename} from ${c.origin} is not a wheel and its index serves no PEP 658 metadata for it, so its dependencies cannot be read without building it; provide a wheel`,
      );
    }
    let why: string;
    try {
      return await this.byRanges(c, url);
    } catch (err) {
      if (!(err instanceof RangeUnusable) && !(err instanceof ShaleError && err.code === 'SHALE_NETWORK')) throw err;
      why = err.message;
    }
    this.debug(c, `range reads of ${redact(url)} failed (${why}); downloading the whole wheel`);
    return this.byDownload(c, url);
  }

  private async remember(c: Candidate, text: string, where: string, how: string, sha256 = c.sha256): Promise<CoreMetadata> {
    const md = parseCoreMetadata(text, `${c.filename} (${where})`);
    if (sha256) await this.writeCache(sha256, c.filename, text);
    this.debug(c, how);
    return md;
  }

  private async fromWheelFile(c: Candidate, path: string, sha256: string, how: string): Promise<CoreMetadata> {
    const fail = (why: string): InputError =>
      new InputError('SHALE_BAD_WHEEL', `wheel ${c.filename} (${path}) ${why}; it is not a valid wheel. Use another version or report it to its publisher`);
    const { src, fh } = await fileSource(path);
    try {
      const { text, member } = await metadataText(src, c.filename, fail);
      return await this.remember(c, text, member, how, sha256);
    } finally {
      await fh.close();
    }
  }

  /**
   * PEP 658 (as renamed by PEP 714): the metadata file at `${url}.metadata`, checked against
   * the hash the page gave. A file the index advertises but does not serve is passed over.
   */
  private async pep658(c: Candidate, url: string, expect: string | undefined): Promise<string | undefined> {
    const mdUrl = `${url}.metadata`;
    let res: HttpResponse;
    try {
      res = await this.http.get(mdUrl, '*/*', c.authFrom);
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      this.debug(c, `${redact(mdUrl)} failed (${err instanceof Error ? err.message : String(err)}); reading the wheel instead`);
      return undefined;
    }
    if (!res.ok) {
      await drop(res);
      this.debug(c, `${redact(mdUrl)} answered HTTP ${res.status}; reading the wheel instead`);
      return undefined;
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (expect && sha256Hex(body) !== expect) {
      throw new ShaleError(
        'SHALE_HASH_MISMATCH',
        `the core metadata file ${redact(mdUrl)} of ${c.filename} has sha256:${sha256Hex(body)}, but the ${c.origin} page says sha256:${expect} (PEP 658); the index serves a damaged or replaced file. Try again later, and report it to the index's maintainers if it persists`,
      );
    }
    return new TextDecoder('utf-8').decode(body);
  }

  /** (e) The central directory from the wheel's tail, then the METADATA member: two or three small Range reads. */
  private async byRanges(c: Candidate, url: string): Promise<CoreMetadata> {
    const src = await RangeSource.open(this.http, url, c.authFrom);
    const whole = src.whole();
    if (whole) return this.smallWheel(c, url, src, whole);
    const { text, member } = await metadataText(src, c.filename, (why) => new RangeUnusable(`the wheel ${why}`));
    return this.remember(c, text, `${redact(url)}: ${member}`, `${src.requests} Range reads of ${redact(url)} (${src.fetched} of ${src.size} bytes)`);
  }

  /** A wheel the first Range read returned whole: checked, kept in the wheel cache, and read from memory. */
  private async smallWheel(c: Candidate, url: string, src: RangeSource, bytes: Buffer): Promise<CoreMetadata> {
    const sha256 = sha256Hex(bytes);
    this.checkHash(c, url, sha256);
    try {
      await this.cache.wheels.putBytes(sha256, c.filename, bytes);
      await this.cache.urls.remember(url, c.filename, { sha256, size: bytes.length, etag: src.etag, lastModified: src.lastModified });
    } catch {
      // Only a later download is lost.
    }
    const { text, member } = await metadataText(src, c.filename, (why) => new RangeUnusable(`the wheel ${why}`));
    return this.remember(
      c,
      text,
      `${redact(url)}: ${member}`,
      `one Range read of ${redact(url)} returned the whole wheel (${bytes.length} bytes; kept in the wheel cache)`,
      sha256,
    );
  }

  private checkHash(c: Candidate, url: string, actual: string): void {
    if (c.sha256 && c.sha256 !== actual) {
      throw new InputError(
        'SHALE_HASH_MISMATCH',
        `${c.filename} from ${redact(url)} has sha256:${actual}, but its link says sha256:${c.sha256}; the file is corrupt or was replaced. Check the ${c.origin}`,
      );
    }
  }

  /** (f) The whole wheel, into the wheel cache (verified when its hash is known), read from there. */
  private async byDownload(c: Candidate, url: string): Promise<CoreMetadata> {
    const got = await this.cache.wheels.download(url, c.filename, (sha) => this.checkHash(c, url, sha), this.events, c.authFrom, this.http);
    await this.cache.urls.remember(url, c.filename, got);
    return this.fromWheelFile(c, got.path, got.sha256, `downloaded the whole wheel from ${redact(url)} into the wheel cache`);
  }
}
