import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/canonical-json.js';
import { sha256 } from '../oci/digest.js';
import type { Entry, FileEntry, Owner } from '../layer/entry.js';
import type { FileHashes } from '../store/file-hashes.js';
import { normalizeEntries } from '../layer/tar.js';
import type { Digest } from '../oci/types.js';
import { mapLimit } from '../limit.js';
import { FS_BUDGET } from './host-paths.js';

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
  // FS_BUDGET files at a time: all at once ran out of descriptors (EMFILE) past `ulimit -n`
  // files and held a read buffer per file (2 GB for 100k files).
  return mapLimit(normalizeEntries(entries), FS_BUDGET, async (e): Promise<EntryInput> => {
    // An owner shows only when set, so layers without one keep their fingerprints.
    if (e.type === 'dir') return { path: e.path, kind: 'd', content: e.owner ? ownerText(e.owner) : '' };
    if (e.type === 'symlink') return { path: e.path, kind: 'l', content: e.target };
    const kind = e.owner ? `f${ownerText(e.owner)}` : (e.mode & 0o111) !== 0 ? 'f755' : 'f644';
    return { path: e.path, kind, content: await content(e) };
  });
}

/** "0640 0:42": an exact mode and owner, as a fingerprint (and --explain) sees it. */
const ownerText = (o: Owner): string => `${o.mode.toString(8).padStart(4, '0')} ${o.uid}:${o.gid}`;

/**
 * Hashes the host files of `entries` into `hashes` ahead of planning (so it overlaps with
 * registry round trips), FS_BUDGET files at a time, whatever their number. Failures are left for
 * planning to report: it asks for the same hashes.
 */
export async function prehashFiles(entries: readonly Entry[], hashes: FileHashes): Promise<void> {
  const sources = entries.flatMap((e) => (e.type === 'file' && e.source ? [e.source] : []));
  await mapLimit(sources, FS_BUDGET, (s) => hashes.hash(s).catch(() => undefined));
}

/** The fingerprint of a layer: a digest of the canonical JSON of everything that decides its bytes. */
export const fingerprint = (inputs: unknown): Digest => sha256(canonicalJson(inputs));
