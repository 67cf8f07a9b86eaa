import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/canonical-json.js';
import { sha256 } from '../oci/digest.js';
import type { Entry } from '../layer/entry.js';
import { normalizeEntries } from '../layer/tar.js';
import type { Digest } from '../oci/types.js';

/** One entry of a layer as its fingerprint sees it: where it lands, its kind and mode, its content hash. */
export interface EntryInput {
  path: string;
  /** "f755", "f644", "d" or "l" */
  kind: string;
  /** sha256 hex of a file's content, or a symlink's target. */
  content: string;
}

/**
 * Describes entries for a fingerprint by reading and hashing every file: the fingerprint depends
 * on content, never on mtimes, so a fresh checkout of the same sources matches.
 */
export async function entryInputs(entries: readonly Entry[]): Promise<EntryInput[]> {
  const out: EntryInput[] = [];
  for (const e of normalizeEntries(entries)) {
    if (e.type === 'dir') out.push({ path: e.path, kind: 'd', content: '' });
    else if (e.type === 'symlink') out.push({ path: e.path, kind: 'l', content: e.target });
    else {
      const h = createHash('sha256');
      for await (const chunk of await e.open()) h.update(chunk as Buffer);
      out.push({ path: e.path, kind: (e.mode & 0o111) !== 0 ? 'f755' : 'f644', content: h.digest('hex') });
    }
  }
  return out;
}

/** The fingerprint of a layer: a digest of the canonical JSON of everything that decides its bytes. */
export const fingerprint = (inputs: unknown): Digest => sha256(canonicalJson(inputs));
