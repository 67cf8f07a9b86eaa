import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/canonical-json.js';
import { sha256 } from '../oci/digest.js';
import type { Entry, FileEntry } from '../layer/entry.js';
import type { FileHashes } from '../store/file-hashes.js';
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
 * Describes entries for a fingerprint by the content hash of every file: the fingerprint depends
 * on content, never on mtimes, so a fresh checkout of the same sources matches. Host files are
 * hashed through `hashes`, which skips files whose stat data is unchanged since the last run.
 */
export async function entryInputs(entries: readonly Entry[], hashes?: FileHashes): Promise<EntryInput[]> {
  const content = async (e: FileEntry): Promise<string> => {
    if (e.source && hashes) return (await hashes.hash(e.source)).sha256;
    const h = createHash('sha256');
    for await (const chunk of await e.open()) h.update(chunk as Buffer);
    return h.digest('hex');
  };
  return Promise.all(
    normalizeEntries(entries).map(async (e): Promise<EntryInput> => {
      if (e.type === 'dir') return { path: e.path, kind: 'd', content: '' };
      if (e.type === 'symlink') return { path: e.path, kind: 'l', content: e.target };
      return { path: e.path, kind: (e.mode & 0o111) !== 0 ? 'f755' : 'f644', content: await content(e) };
    }),
  );
}

/** The fingerprint of a layer: a digest of the canonical JSON of everything that decides its bytes. */
export const fingerprint = (inputs: unknown): Digest => sha256(canonicalJson(inputs));
