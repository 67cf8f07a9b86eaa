import type { Transform } from 'node:stream';
import type { Digest } from '../oci/types.js';
import { ShaleError } from '../errors.js';
import { verifyingStream } from '../oci/verify.js';

/** Verifies a blob as the registry streams it; a mismatch means the registry or a proxy sent wrong bytes. */
export function registryVerifier(expected: Digest, what: string, expectedSize?: number): Transform {
  return verifyingStream(
    expected,
    (problem) =>
      new ShaleError(
        'SHALE_DIGEST_MISMATCH',
        `${what}: content digest mismatch: the content ${problem}; the registry or a proxy served wrong bytes, try again or check the registry`,
      ),
    expectedSize,
  );
}
