import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ShaleError } from '../errors.js';
import type { Digest } from '../oci/types.js';

/**
 * A pass-through stream that fails at its end when the bytes that flowed through do not hash to
 * `expect`. Readers of content-addressed files use it so a corrupted blob is never taken silently
 * for the real one; `what` names the blob in the error ("blob sha256:... in /cache").
 */
export function verifyingStream(expect: Digest, what: string, expectSize?: number): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const got: Digest = `sha256:${hash.digest('hex')}`;
      if (got !== expect) {
        cb(new ShaleError('SHALE_BLOB_CORRUPT', `${what} is corrupt: its content hashes to ${got}, not ${expect}. Delete it (or run the cache check) and build again.`));
      } else if (expectSize !== undefined && size !== expectSize) {
        cb(new ShaleError('SHALE_BLOB_CORRUPT', `${what} has ${size} bytes where its descriptor says ${expectSize}.`));
      } else {
        cb();
      }
    },
  });
}

/** The error a writer raises when content does not match the digest it was promised. */
export function digestMismatch(what: string, expect: Digest, got: Digest, gotSize: number): ShaleError {
  return new ShaleError(
    'SHALE_DIGEST_MISMATCH',
    `${what}: expected ${expect} but the content (${gotSize} bytes) hashes to ${got}; nothing was stored.`,
  );
}
