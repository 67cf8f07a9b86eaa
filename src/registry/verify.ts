import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Digest } from '../oci/types.js';
import { ShaleError } from '../errors.js';
import { digestMismatch } from './errors.js';

/**
 * A pass-through that hashes a blob as it streams and fails at the end when the bytes do not match
 * the digest (or the expected size), so a consumer never silently keeps corrupt content.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private size = 0;
  constructor(
    private readonly expected: Digest,
    private readonly what: string,
    private readonly expectedSize?: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.expectedSize !== undefined && this.size > this.expectedSize) {
      cb(sizeMismatch(this.what, this.expectedSize, `more than ${this.expectedSize}`));
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.size !== this.expectedSize) {
      cb(sizeMismatch(this.what, this.expectedSize, String(this.size)));
      return;
    }
    const actual: Digest = `sha256:${this.hash.digest('hex')}`;
    cb(actual === this.expected ? null : digestMismatch(this.what, this.expected, actual));
  }
}

function sizeMismatch(what: string, expected: number, actual: string): ShaleError {
  return new ShaleError('SHALE_DIGEST_MISMATCH', `${what}: expected ${expected} bytes, got ${actual}; the registry or a proxy served wrong bytes`);
}

/** Counts bytes flowing through and reports the running total (upload progress). */
export class CountingStream extends Transform {
  bytes = 0;
  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
}
