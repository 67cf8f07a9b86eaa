import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Digest } from './types.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Whether s is a well-formed sha256 digest (the only algorithm shale writes). */
export const isDigest = (s: string): s is Digest => DIGEST_RE.test(s);

/** The sha256 digest of bytes or a string. */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest ("sha256:abc" → "abc"). */
export const digestHex = (d: Digest): string => d.slice('sha256:'.length);

/**
 * A pass-through stream that hashes and counts what flows through it, so a blob can be
 * digested while it is written elsewhere, without a second read.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  /** The digest; valid once the stream has finished. */
  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}
