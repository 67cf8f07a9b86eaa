import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Digest } from './types.js';

/**
 * A pass-through stream that fails when the bytes that flowed through do not hash to `expect`
 * (or exceed / miss `expectSize`), so no reader of content-addressed data (registry blobs,
 * cache files, tarball members) keeps corrupt bytes silently. `fail` turns the problem
 * ("hashes to sha256:…, not sha256:…") into the caller's error, which names the blob and what to do.
 */
export function verifyingStream(expect: Digest, fail: (problem: string) => Error, expectSize?: number): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      // Stop early instead of reading an endless or oversized body to its end.
      if (expectSize !== undefined && size > expectSize) cb(fail(`has more than the ${expectSize} bytes its descriptor says`));
      else cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const got: Digest = `sha256:${hash.digest('hex')}`;
      if (expectSize !== undefined && size !== expectSize) cb(fail(`has ${size} bytes where its descriptor says ${expectSize}`));
      else if (got !== expect) cb(fail(`hashes to ${got}, not ${expect}`));
      else cb();
    },
  });
}
