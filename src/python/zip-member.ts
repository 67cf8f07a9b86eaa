/**
 * Reading one zip member's bytes, given its central-directory record (from yauzl, which parses
 * the directory). yauzl's own member streams read and inflate 16 KiB at a time through five
 * piped streams: one thread-pool round trip per 16 KiB each way, about 80 MB/s for scipy's wheel.
 * Here a small member is one read and a synchronous inflate; a large one is read 1 MiB at a
 * time and inflated into 64 KiB pieces (256 KiB ones held ~3× the native memory until a GC).
 * Both check the local header and the sizes the central directory gives (a member that inflates
 * to more or less is an error, not a zip bomb).
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import type yauzl from 'yauzl';
import { InputError } from '../errors.js';
import { pipeInto } from '../pipe.js';

const LOCAL_HEADER = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
/** Members this small (compressed) are read and inflated in one go. */
const SMALL = 64 * 1024;
const READ_CHUNK = 1 << 20;
const INFLATE_CHUNK = 64 * 1024;
/** Room for a local header's name and extra field, read with a small member's data. */
const HEADER_SLACK = 1024;

/** A zip member that cannot be read as its central directory describes it: a damaged wheel. */
export class ZipMemberError extends InputError {
  constructor(path: string, member: string, why: string) {
    super('SHALE_BAD_WHEEL', `wheel ${path}: member ${member} ${why}; the file is damaged. Delete it (from the cache or find-links) and download it again`);
    this.name = 'ZipMemberError';
  }
}

interface Handle {
  fh: Promise<FileHandle>;
  users: number;
  evicted: boolean;
}

/** Files kept open for reading members, most recently used last. */
const handles = new Map<string, Handle>();
/** Enough for the wheels of the layers built at once; each holds one file descriptor. */
const MAX_OPEN = 16;

function acquire(path: string): Handle {
  let h = handles.get(path);
  if (h) handles.delete(path);
  else {
    h = { fh: open(path, 'r'), users: 0, evicted: false };
    h.fh.catch(() => handles.delete(path));
  }
  handles.set(path, h);
  h.users++;
  if (handles.size > MAX_OPEN) {
    const [oldest, o] = handles.entries().next().value as [string, Handle];
    handles.delete(oldest);
    o.evicted = true;
    if (o.users === 0) closeQuietly(o);
  }
  return h;
}

function release(h: Handle): void {
  h.users--;
  if (h.evicted && h.users === 0) closeQuietly(h);
}

function closeQuietly(h: Handle): void {
  void h.fh.then((fh) => fh.close()).catch(() => undefined);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * The same, blocking: for a local header and a small member's bytes. A read of a few KiB from the
 * page cache takes ~5 µs this way, ~70 µs of the main thread's time through the thread pool,
 * and a layer reads thousands of them.
 */
function readAtSync(fh: FileHandle, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fh.fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Where the member's data starts, from its local header (read with `ahead` bytes more), and what was read. */
function locate(fh: FileHandle, path: string, entry: yauzl.Entry, ahead: number): { dataStart: number; head: Buffer; offset: number } {
  const offset = entry.relativeOffsetOfLocalHeader;
  const head = readAtSync(fh, offset, LOCAL_HEADER_SIZE + entry.fileNameLength + entry.extraFieldLength + ahead);
  if (head.length < LOCAL_HEADER_SIZE || head.readUInt32LE(0) !== LOCAL_HEADER)
    throw new ZipMemberError(path, entry.fileName, 'has no local file header where the central directory points');
  const dataStart = offset + LOCAL_HEADER_SIZE + head.readUInt16LE(26) + head.readUInt16LE(28);
  return { dataStart, head, offset };
}

/** Counts bytes and fails when they are not exactly `size`. */
class ExactSize extends Transform {
  private n = 0;
  constructor(
    private readonly size: number,
    private readonly path: string,
    private readonly member: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.n += chunk.length;
    if (this.n > this.size) return done(new ZipMemberError(this.path, this.member, `inflates to more than the ${this.size} bytes its directory entry says`));
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(this.n === this.size ? null : new ZipMemberError(this.path, this.member, `has ${this.n} bytes, not the ${this.size} its directory entry says`));
  }
}

/**
 * The uncompressed bytes of a member of the zip at `path` (stored or deflated; anything else is
 * an error). The file stays open for the next member.
 */
export async function readMemberStream(path: string, entry: yauzl.Entry): Promise<Readable> {
  const name = entry.fileName;
  if (entry.isEncrypted()) throw new ZipMemberError(path, name, 'is encrypted');
  const method = entry.compressionMethod;
  if (method !== 0 && method !== 8) throw new ZipMemberError(path, name, `uses compression method ${method}; only stored (0) and deflate (8) are read`);
  if (method === 0 && entry.compressedSize !== entry.uncompressedSize) throw new ZipMemberError(path, name, 'is stored but its sizes differ');
  const h = acquire(path);
  let handedOff = false;
  try {
    const fh = await h.fh;
    const small = entry.compressedSize <= SMALL;
    const { dataStart, head, offset } = locate(fh, path, entry, small ? entry.compressedSize + HEADER_SLACK : 0);
    if (small) {
      const at = dataStart - offset;
      const raw = at + entry.compressedSize <= head.length ? head.subarray(at, at + entry.compressedSize) : readAtSync(fh, dataStart, entry.compressedSize);
      if (raw.length !== entry.compressedSize) throw new ZipMemberError(path, name, 'is cut short');
      const data = method === 0 ? Buffer.from(raw) : inflate(raw, entry.uncompressedSize, path, name);
      if (data.length !== entry.uncompressedSize)
        throw new ZipMemberError(path, name, `has ${data.length} bytes, not the ${entry.uncompressedSize} its directory entry says`);
      return Readable.from([data], { objectMode: false });
    }
    const end = dataStart + entry.compressedSize;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let pos = dataStart; pos < end;) {
        const b = await readAt(fh, pos, Math.min(READ_CHUNK, end - pos));
        if (b.length === 0) throw new ZipMemberError(path, name, 'is cut short');
        pos += b.length;
        yield b;
      }
    }
    const raw = Readable.from(chunks(), { objectMode: false, highWaterMark: READ_CHUNK });
    raw.once('close', () => release(h));
    handedOff = true;
    const check = new ExactSize(entry.uncompressedSize, path, name);
    if (method === 0) return pipeInto(raw, check);
    const inflater = createInflateRaw({ chunkSize: INFLATE_CHUNK });
    // First, so the reader sees this error rather than zlib's bare one.
    inflater.on('error', (err) => check.destroy(new ZipMemberError(path, name, `does not inflate: ${err.message}`)));
    return pipeInto(pipeInto(raw, inflater), check);
  } finally {
    if (!handedOff) release(h);
  }
}

function inflate(raw: Buffer, size: number, path: string, name: string): Buffer {
  try {
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, size) });
  } catch (err) {
    throw new ZipMemberError(path, name, `does not inflate to its ${size} bytes: ${(err as Error).message}`);
  }
}
