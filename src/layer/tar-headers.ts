/**
 * A tar reader that reads headers and skips bodies by arithmetic: the bytes of a body nobody
 * asked for are passed over inside the decompressed chunks, never copied or pushed through a
 * stream per entry. Reading the 100 MB tar of a Debian base for its file list costs about
 * the gunzip alone (tar-stream, which streams every body through an entry stream, doubled it).
 * Formats: ustar (with its name prefix), GNU (long names and link names, base-256 numbers) and
 * pax (path, linkpath, size; global headers apply to every later entry), as tar-stream reads them.
 */
import { ShaleError } from '../errors.js';

/** One header, with the long-name and pax records before it applied. */
export interface TarHeader {
  name: string;
  /** The typeflag as tar-stream names it: 'file', 'directory', 'symlink', 'link', 'contiguous-file', ... */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
}

const BLOCK = 512;
/** Long names and pax records above this are not a tar shale wrote or reads (tar-stream's limit too). */
const MAX_META = 1 << 20;

/** Pulls bytes out of an iterator of chunks: whole blocks, bodies piece by piece, skips without copies. */
export class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    const r = await this.chunks.next();
    if (r.done) return false;
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    this.buf = this.off < this.buf.length ? Buffer.concat([this.buf.subarray(this.off), c]) : c;
    this.off = 0;
    return true;
  }

  /** The next `n` bytes (a view: copy what is kept), or undefined at the end of the input. */
  async take(n: number): Promise<Buffer | undefined> {
    while (this.buf.length - this.off < n) if (!(await this.more())) return undefined;
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  /** Passes over `n` bytes; false when the input ended first. */
  async skip(n: number): Promise<boolean> {
    for (;;) {
      const here = this.buf.length - this.off;
      if (here >= n) {
        this.off += n;
        return true;
      }
      n -= here;
      this.off = this.buf.length;
      if (!(await this.more())) return false;
    }
  }

  /** The next `n` bytes as they come, in pieces (views into the chunks). */
  async *pieces(n: number): AsyncGenerator<Buffer, void, undefined> {
    while (n > 0) {
      if (this.off >= this.buf.length && !(await this.more())) throw truncated();
      const k = Math.min(n, this.buf.length - this.off);
      const piece = this.buf.subarray(this.off, this.off + k);
      this.off += k;
      n -= k;
      yield piece;
    }
  }
}

const truncated = (): ShaleError => new ShaleError('SHALE_LAYER_TRUNCATED', 'the layer tar ends in the middle of an entry');

/** An entry as {@link tarEntries} yields it: its header, and its body to read (once) before asking for the next. */
export interface RawEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/**
 * The entries of the tar in `reader`, header by header, with the long-name and pax records
 * applied. A body not read (or read in part) is skipped when the next entry is asked for.
 * Ends at the end of the input; zero blocks are passed over, as tar-stream does.
 */
export async function* tarEntries(reader: ChunkReader): AsyncGenerator<RawEntry, void, undefined> {
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> | undefined;
  let paxGlobal: Record<string, string> | undefined;
  for (;;) {
    const block = await reader.take(BLOCK);
    if (!block) return;
    const h = decodeHeader(block);
    if (!h) continue;
    if (h.type === 'gnu-long-path' || h.type === 'gnu-long-link-path' || h.type === 'pax-header' || h.type === 'pax-global-header') {
      if (h.size > MAX_META) throw new ShaleError('SHALE_LAYER_BAD_TAR', `the layer tar has a ${h.type} record of ${h.size} bytes, more than tar allows`);
      const data = await reader.take(padTo(h.size));
      if (!data) throw truncated();
      const body = data.subarray(0, h.size);
      if (h.type === 'gnu-long-path') longName = cString(body);
      else if (h.type === 'gnu-long-link-path') longLink = cString(body);
      else if (h.type === 'pax-global-header') paxGlobal = decodePax(body);
      else pax = { ...paxGlobal, ...decodePax(body) };
      continue;
    }
    if (longName !== undefined) h.name = longName;
    if (longLink !== undefined) h.linkname = longLink;
    if (pax) {
      if (pax['path']) h.name = pax['path'];
      if (pax['linkpath']) h.linkname = pax['linkpath'];
      if (pax['size']) h.size = parseInt(pax['size'], 10);
    }
    longName = longLink = pax = undefined;
    if (!(h.size >= 0)) throw new ShaleError('SHALE_LAYER_BAD_TAR', `the layer tar has an entry (${h.name}) with an invalid size`);
    const size = h.type === 'directory' ? 0 : h.size;
    let read = 0;
    let started = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        if (started) throw new Error(`the body of ${h.name} was read already`);
        started = true;
        const it = reader.pieces(size);
        return {
          next: async () => {
            const r = await it.next();
            if (!r.done) read += r.value.length;
            return r;
          },
          return: async () => ({ done: true, value: undefined }),
        };
      },
    };
    yield { header: h, body };
    // What is left of the body (all of it when not read), then the padding to the block.
    if (!(await reader.skip(padTo(size) - read))) throw truncated();
  }
}

const padTo = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** A 512-byte header; undefined for a zero block. Throws for a block that is no tar header (bad checksum, unknown magic). */
export function decodeHeader(buf: Buffer): TarHeader | undefined {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : buf[i]!;
  if (sum === 8 * 32) return undefined;
  if (sum !== octal(buf, 148, 8))
    throw new ShaleError('SHALE_LAYER_BAD_TAR', 'the layer is not a tar archive (a header checksum does not match); is it compressed some other way?');
  let flag = buf[156] === 0 ? 0 : buf[156]! - 48;
  let name = cString(buf.subarray(0, 100));
  const magic = buf.toString('latin1', 257, 263);
  if (magic === 'ustar\0') {
    if (buf[345]) name = `${cString(buf.subarray(345, 500))}/${name}`;
  } else if (magic !== 'ustar ') {
    throw new ShaleError('SHALE_LAYER_BAD_TAR', 'the layer is not a tar archive (a header has an unknown format)');
  }
  if (flag === 0 && name.endsWith('/')) flag = 5;
  const h: TarHeader = {
    name,
    type: TYPES[flag] ?? 'unknown',
    mode: octal(buf, 100, 8),
    uid: octal(buf, 108, 8),
    gid: octal(buf, 116, 8),
    size: octal(buf, 124, 12),
  };
  if (buf[157] !== 0) h.linkname = cString(buf.subarray(157, 257));
  return h;
}

const TYPES: Readonly<Record<number, string>> = {
  0: 'file',
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  5: 'directory',
  6: 'fifo',
  7: 'contiguous-file',
  72: 'pax-header',
  55: 'pax-global-header',
  27: 'gnu-long-link-path',
  28: 'gnu-long-path',
  30: 'gnu-long-path',
};

/** UTF-8 up to the first NUL. */
function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end === -1 ? b.length : end);
}

/** A numeric field: octal text (spaces and NULs around it), or GNU's base-256 when the high bit is set. */
function octal(buf: Buffer, offset: number, length: number): number {
  const f = buf.subarray(offset, offset + length);
  if (f[0]! & 0x80) {
    const positive = f[0] === 0x80;
    let sum = 0;
    for (let i = f.length - 1, scale = 1; i > 0; i--, scale *= 256) sum += (positive ? f[i]! : 0xff - f[i]!) * scale;
    return positive ? sum : -sum;
  }
  let i = 0;
  while (i < f.length && f[i] === 32) i++;
  let end = f.indexOf(32, i);
  if (end === -1) end = f.length;
  while (i < end && f[i] === 0) i++;
  return i === end ? 0 : parseInt(f.toString('latin1', i, end), 8);
}

/** pax records: "LEN key=value\n" each. */
function decodePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  while (b.length) {
    const sp = b.indexOf(32);
    const len = parseInt(b.toString('latin1', 0, sp === -1 ? b.length : sp), 10);
    if (!len || sp === -1) return out;
    const rec = b.toString('utf8', sp + 1, len - 1);
    const eq = rec.indexOf('=');
    if (eq === -1) return out;
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    b = b.subarray(len);
  }
  return out;
}
