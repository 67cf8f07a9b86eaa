import { mkdir, readFile, stat } from 'node:fs/promises';
import { touch } from './cache-prune.js';
import { join } from 'node:path';
import { canonicalBytes } from '../oci/canonical-json.js';
import { digestHex, sha256 } from '../oci/digest.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { writeFileAtomic } from './atomic-file.js';
import type { BlobStore } from './blob-store.js';
import { isNotFound } from './blob-store.js';
import { asDescriptor, asDigest, OciParseError } from './oci-parse.js';

/** A layer the cache can hand back for a fingerprint, without building it. */
export interface IndexedLayer {
  /** The compressed blob (digest, size, media type, annotations). */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** The layer name (`dev.shale.layer.name`). */
  name: string;
}

const FORMAT = 1;

/**
 * Maps a layer fingerprint (DESIGN.md, "Plan") to a stored layer: one small JSON file per
 * fingerprint, `root/index/<sha256(fingerprint)>.json`, each written atomically, so concurrent
 * builds never see half an entry and the last writer simply wins. An entry whose blob is gone
 * from the BlobStore is a miss: the index never promises bytes it cannot deliver.
 */
export class FingerprintIndex {
  private readonly dir: string;

  constructor(root: string, private readonly blobs: BlobStore) {
    this.dir = join(root, 'index');
  }

  /** The file that holds the entry for a fingerprint. */
  path(fingerprint: string): string {
    return join(this.dir, `${digestHex(sha256(fingerprint))}.json`);
  }

  /** The layer stored for a fingerprint, or undefined when missing, unreadable or its blob is gone. */
  async get(fingerprint: string): Promise<IndexedLayer | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(fingerprint), 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const entry = parseEntry(text, fingerprint);
    if (!entry) return undefined;
    // A blob cut short (a crash mid-write outside our atomic rename, a full disk) is a miss.
    const blob = this.blobs.path(entry.descriptor.digest);
    const size = await stat(blob).then((s) => s.size, () => undefined);
    if (size !== entry.descriptor.size) return undefined;
    await touch(blob); // used now: `shale cache prune` removes the least recently used first
    return entry;
  }

  /** Records the layer for a fingerprint (its blob should already be in the BlobStore). */
  async set(fingerprint: string, layer: IndexedLayer): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const record = { format: FORMAT, fingerprint, descriptor: layer.descriptor, diffId: layer.diffId, name: layer.name };
    await writeFileAtomic(this.path(fingerprint), canonicalBytes(record));
  }
}

/** Parses an entry; anything unexpected (old format, damage, a hash collision) is a miss. */
function parseEntry(text: string, fingerprint: string): IndexedLayer | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const r = v as Record<string, unknown>;
    if (r['format'] !== FORMAT || r['fingerprint'] !== fingerprint || typeof r['name'] !== 'string') return undefined;
    return { descriptor: asDescriptor(r['descriptor'], 'descriptor'), diffId: asDigest(r['diffId'], 'diffId'), name: r['name'] };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof OciParseError) return undefined;
    throw err;
  }
}
