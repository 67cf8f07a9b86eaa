import { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';

/**
 * Reads a blob's source in pieces at given offsets, for uploads that resume: each piece is a
 * stream of exactly the bytes asked for, read from the source as the request sends them (no
 * chunk is held in memory). Reading on from where the last piece ended reuses the open stream;
 * any other offset, or a piece asked for while an older one is still reading (its request
 * failed), opens the source again and skips to the offset.
 */
export class ChunkSource {
  private iter: AsyncIterator<unknown> | undefined;
  private stream: Readable | undefined;
  private pos = 0;
  private rest: Buffer = Buffer.alloc(0);
  /** The newest piece; an older one stops touching the source once a newer one exists. */
  private generation = 0;
  /** Whether a piece is between two reads of the source (its next() may still be pending). */
  private reading = false;
  /** Times the source was opened (tests count them). */
  opened = 0;
  constructor(
    private readonly open: () => Promise<Readable>,
    private readonly what = 'the blob',
  ) {}

  /**
   * The `n` bytes at `offset` as a stream. It fails if the source ends early. Asking for a new
   * piece supersedes the previous one: only the newest piece reads.
   */
  piece(offset: number, n: number): Readable {
    const gen = ++this.generation;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a generator cannot be an arrow function
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      if (!self.iter || offset < self.pos || self.reading) await self.reopen();
      let skip = offset - self.pos;
      let left = n;
      while (skip > 0 || left > 0) {
        const b = await self.next(gen, skip > 0 ? skip : left);
        if (b === undefined) return;
        if (b.length === 0) {
          throw new ShaleError('SHALE_BLOB_SOURCE', `${self.what}'s source ended after ${self.pos} bytes, before byte ${offset + n}`);
        }
        if (skip > 0) {
          skip -= b.length;
          continue;
        }
        left -= b.length;
        yield b;
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /** Releases the open stream; the next piece opens the source again. */
  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iter = undefined;
    this.reading = false;
  }

  private async reopen(): Promise<void> {
    this.close();
    this.stream = await this.open();
    this.opened++;
    this.iter = this.stream[Symbol.asyncIterator]();
    this.pos = 0;
    this.rest = Buffer.alloc(0);
  }

  /**
   * Up to `max` bytes from the source: empty at its end, undefined when a newer piece took over
   * (the caller stops without touching the state the newer piece now owns).
   */
  private async next(gen: number, max: number): Promise<Buffer | undefined> {
    if (gen !== this.generation) return undefined;
    if (this.rest.length === 0) {
      const iter = this.iter;
      if (!iter) return Buffer.alloc(0);
      this.reading = true;
      let r: IteratorResult<unknown>;
      try {
        r = await iter.next();
      } finally {
        if (gen === this.generation) this.reading = false;
      }
      if (gen !== this.generation) return undefined;
      if (r.done) return Buffer.alloc(0);
      const v = r.value;
      this.rest = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
    }
    const out = this.rest.subarray(0, max);
    this.rest = this.rest.subarray(out.length);
    this.pos += out.length;
    return out;
  }
}
