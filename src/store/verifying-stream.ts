import type { Transform } from 'node:stream';
import { verifyingStream as verifyBytes } from '../oci/verify.js';
import { ShaleError } from '../errors.js';
import type { Digest } from '../oci/types.js';

/**
 * Verifies a stored blob as it is read; a mismatch means the file on disk is corrupt. `then`
 * says what happened to it or what to do ("it has been removed, ..."), since that depends on
 * where it is stored (a cache deletes it; a tarball cannot).
 */
export function verifyingStream(expect: Digest, what: string, then: string, expectSize?: number): Transform {
  return verifyBytes(expect, (problem) => new ShaleError('SHALE_BLOB_CORRUPT', `${what} is corrupt: it ${problem}; ${then}.`), expectSize);
}

/** The error a writer raises when content does not match the digest it was promised. */
export function digestMismatch(what: string, expect: Digest, got: Digest, gotSize: number): ShaleError {
  return new ShaleError('SHALE_DIGEST_MISMATCH', `${what}: expected ${expect} but the content (${gotSize} bytes) hashes to ${got}; nothing was stored.`);
}
