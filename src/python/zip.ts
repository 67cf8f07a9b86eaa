/**
 * Reading wheels (zip files): the central directory once with yauzl, and members lazily
 * (zip-member.ts), so an Entry can stream its bytes long after installation planned it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { InputError } from '../errors.js';
import { readMemberStream } from './zip-member.js';

/** One member of a zip, from its central directory record. */
export interface ZipMember {
  name: string;
  isDir: boolean;
  /** Uncompressed size. */
  size: number;
  /** Unix permission bits from the external attributes (0 when the zip was made without them). */
  mode: number;
  /** yauzl's record; it locates the member's data in the file. */
  entry: yauzl.Entry;
}

const UNSAFE_RE = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s;

/** The reason a member name could escape the install directory, or undefined when it is safe. */
export function unsafeMemberName(name: string): string | undefined {
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'is an absolute path';
  if (name.split('/').includes('..')) return 'contains ".."';
  if (name.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

function unsafeError(wheel: string, member: string, why: string): InputError {
  return new InputError(
    'SHALE_WHEEL_UNSAFE_PATH',
    `wheel ${wheel} has a member "${member}" that ${why}, which would write outside the install directory; refusing to install it. Use a wheel from a trusted build`,
  );
}

/** The last bytes of a wheel, read at once: the central directory is there. */
const TAIL = 1 << 20;

/**
 * The file for yauzl, its last TAIL bytes read up front and served from memory. yauzl reads the
 * central directory a record at a time; through the thread pool each read costs the main thread
 * ~70 µs, and wheels have thousands of records. Reads go synchronous from the page cache.
 */
class WheelReader extends yauzl.RandomAccessReader {
  private constructor(
    private readonly fd: number,
    private readonly tail: Buffer,
    private readonly tailStart: number,
  ) {
    super();
  }

  static open(path: string): { reader: WheelReader; size: number } {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const tailStart = Math.max(0, size - TAIL);
      const tail = Buffer.allocUnsafe(size - tailStart);
      let got = 0;
      while (got < tail.length) {
        const n = readSync(fd, tail, got, tail.length - got, tailStart + got);
        if (n === 0) break;
        got += n;
      }
      return { reader: new WheelReader(fd, tail.subarray(0, got), tailStart), size };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private bytes(start: number, end: number): Buffer {
    if (start >= this.tailStart && end <= this.tailStart + this.tail.length) return this.tail.subarray(start - this.tailStart, end - this.tailStart);
    const buf = Buffer.allocUnsafe(end - start);
    return buf.subarray(0, readSync(this.fd, buf, 0, buf.length, start));
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from([this.bytes(start, end)]);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    try {
      const b = this.bytes(position, position + length);
      b.copy(buffer, offset);
      process.nextTick(callback, null, b.length);
    } catch (err) {
      process.nextTick(callback, err as Error);
    }
  }

  override close(callback: (err: Error | null) => void): void {
    try {
      closeSync(this.fd);
      process.nextTick(callback, null);
    } catch (err) {
      process.nextTick(callback, err as Error);
    }
  }
}

/** Lists a wheel's members. Names that would escape the install directory (zip-slip) are refused. */
export async function readZipIndex(path: string, wheelName: string): Promise<ZipMember[]> {
  let zip: yauzl.ZipFile;
  let reader: WheelReader | undefined;
  try {
    const opened = WheelReader.open(path);
    reader = opened.reader;
    zip = await yauzl.fromRandomAccessReaderPromise(reader, opened.size, { lazyEntries: true, autoClose: false, strictFileNames: true });
  } catch (err) {
    // Not a zip: yauzl keeps its reference to the reader, so the file is ours to close.
    reader?.close(() => undefined);
    throw new InputError('SHALE_BAD_WHEEL', `cannot read wheel ${wheelName} (${path}) as a zip file: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const out: ZipMember[] = [];
  try {
    for await (const e of zip.eachEntry()) {
      const why = unsafeMemberName(e.fileName);
      if (why) throw unsafeError(wheelName, e.fileName, why);
      const isDir = e.fileName.endsWith('/');
      out.push({
        name: isDir ? e.fileName.slice(0, -1) : e.fileName,
        isDir,
        size: e.uncompressedSize,
        mode: (e.externalFileAttributes >>> 16) & 0o777,
        entry: e,
      });
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const m = err instanceof Error ? UNSAFE_RE.exec(err.message) : null;
    if (m)
      throw unsafeError(
        wheelName,
        m[2] ?? '',
        m[1] === 'absolute path' ? 'is an absolute path' : m[1] === 'invalid relative path' ? 'contains ".."' : 'contains a backslash',
      );
    throw new InputError('SHALE_BAD_WHEEL', `cannot read wheel ${wheelName} (${path}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    zip.close();
  }
  return out;
}

/**
 * Opens one member's uncompressed bytes (zip-member.ts). The file stays open for the next member
 * (a layer reads a wheel's members one after another): re-opening it per member cost a file open
 * and a stat each, which dominated installing wheels with thousands of files.
 */
export const openMember: (path: string, entry: yauzl.Entry) => Promise<Readable> = readMemberStream;

/** Reads a member fully into memory (for small metadata files). */
export async function readMember(path: string, entry: yauzl.Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await openMember(path, entry)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
