import type { Readable } from 'node:stream';

/**
 * Reads a blob's source in pieces at given offsets, for chunked uploads. Reading forward reuses
 * the open stream; going back (a resume after 416 or a reset) opens the source again and skips.
 */
export class ChunkSource {
  private iter: AsyncIterator<unknown> | undefined;
  private stream: Readable | undefined;
  private pos = 0;
  private rest: Buffer = Buffer.alloc(0);
  /** Times the source was opened (tests count them). */
  opened = 0;
  constructor(private readonly open: () => Promise<Readable>) {}

  /** Exactly `n` bytes starting at `offset` (fewer only when the source ends early). */
  async read(offset: number, n: number): Promise<Buffer> {
    if (!this.iter || offset < this.pos) await this.reopen();
    await this.skip(offset - this.pos);
    const out = await this.take(n);
    return out;
  }

  /** Releases the open stream. */
  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iter = undefined;
  }

  private async reopen(): Promise<void> {
    this.close();
    this.stream = await this.open();
    this.opened++;
    this.iter = this.stream[Symbol.asyncIterator]();
    this.pos = 0;
    this.rest = Buffer.alloc(0);
  }

  private async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const b = await this.take(Math.min(left, 1 << 20));
      if (b.length === 0) return;
      left -= b.length;
    }
  }

  private async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      if (this.rest.length === 0) {
        const next = await this.iter?.next();
        if (!next || next.done) break;
        const v = next.value;
        this.rest = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
        continue;
      }
      const piece = this.rest.subarray(0, n - have);
      this.rest = this.rest.subarray(piece.length);
      parts.push(piece);
      have += piece.length;
    }
    this.pos += have;
    return Buffer.concat(parts, have);
  }
}
