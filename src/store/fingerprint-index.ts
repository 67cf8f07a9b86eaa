import { readFile, stat } from 'node:fs/promises';
import { touch } from './cache-prune.js';
import { join } from 'node:path';
import type { Events } from '../events.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { digestHex, sha256 } from '../oci/digest.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { writeFileAtomic } from './atomic-file.js';
import type { BlobStore } from './blob-store.js';
import { isNotFound } from './blob-store.js';
import { DamageReport, damageOf } from './cache-damage.js';
import { makeDir } from './disk-errors.js';
import { asDescriptor, asDigest, OciParseError } from '../oci/parse.js';

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
 * Maps a layer fingerprint (docs/design.md, "Plan") to a stored layer: one small JSON file per
 * fingerprint, `root/index/<sha256(fingerprint)>.json`, each written atomically, so concurrent
 * builds never see half an entry and the last writer simply wins. An entry whose blob is gone
 * from the BlobStore is a miss: the index never promises bytes it cannot deliver. A damaged
 * entry (empty, cut short, garbage) is a miss too, said once to `events`; building the layer
 * writes it anew.
 */
export class FingerprintIndex {
  private readonly dir: string;
  private readonly damage: DamageReport;

  constructor(
    private readonly root: string,
    private readonly blobs: BlobStore,
    events?: Events,
  ) {
    this.dir = join(root, 'index');
    this.damage = new DamageReport(events);
  }

  /** The file that holds the entry for a fingerprint. */
  path(fingerprint: string): string {
    return join(this.dir, `${digestHex(sha256(fingerprint))}.json`);
  }

  /** The layer stored for a fingerprint, or undefined when missing, unreadable or its blob is gone. */
  async get(fingerprint: string): Promise<IndexedLayer | undefined> {
    const file = this.path(fingerprint);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      // Anything but "no entry" (a directory in its place, no permission) is damage, not a bug.
      if (!isNotFound(err)) this.damage.damaged(file, 'layer cache entry', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    const parsed = parseEntry(text, fingerprint);
    if (typeof parsed === 'string') this.damage.damaged(file, 'layer cache entry', parsed);
    if (!parsed || typeof parsed === 'string') return undefined;
    // A blob cut short (a crash mid-write outside our atomic rename, a full disk) is a miss.
    const blob = this.blobs.path(parsed.descriptor.digest);
    const size = await stat(blob).then(
      (s) => s.size,
      () => undefined,
    );
    if (size !== parsed.descriptor.size) return undefined;
    await touch(blob); // used now: `shale cache prune` removes the least recently used first
    return parsed;
  }

  /** Records the layer for a fingerprint (its blob should already be in the BlobStore). */
  async set(fingerprint: string, layer: IndexedLayer): Promise<void> {
    await makeDir(this.dir, this.root);
    const record = { format: FORMAT, fingerprint, descriptor: layer.descriptor, diffId: layer.diffId, name: layer.name };
    await writeFileAtomic(this.path(fingerprint), canonicalBytes(record), this.root);
  }
}

/**
 * Parses an entry: the layer, undefined for a miss that is no damage (an older format, an
 * entry for another fingerprint), or what is wrong with a damaged one.
 */
function parseEntry(text: string, fingerprint: string): IndexedLayer | string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'it is not a JSON object';
    const r = v as Record<string, unknown>;
    if (typeof r['format'] !== 'number') return 'it has no format number';
    if (r['format'] !== FORMAT || r['fingerprint'] !== fingerprint) return undefined;
    if (typeof r['name'] !== 'string') return 'it has no layer name';
    return { descriptor: asDescriptor(r['descriptor'], 'descriptor'), diffId: asDigest(r['diffId'], 'diffId'), name: r['name'] };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof OciParseError) return damageOf(text, err);
    throw err;
  }
}
