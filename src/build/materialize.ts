import type { Events } from '../events.js';
import { writeLayerBlob } from '../layer/blob.js';
import type { Layer } from '../oci/image.js';
import { Annotation, MediaType, type Descriptor } from '../oci/types.js';
import type { PlannedLayer } from '../plan/layers.js';
import type { BlobStore } from '../store/blob-store.js';
import type { FingerprintIndex } from '../store/fingerprint-index.js';
import { blobLayer, cachedLayer } from '../store/stored-layer.js';

/** The local cache a build uses: blobs by digest and the fingerprint → layer index. */
export interface LayerCache {
  blobs: BlobStore;
  index: FingerprintIndex;
}

/** A planned layer made real, with the reason it was built or reused (for --explain). */
export interface MaterializedLayer {
  layer: Layer;
  reason: string;
}

/**
 * Turns a planned layer into a Layer: from the local cache when its fingerprint is there
 * (unless `noCache`), otherwise built as a reproducible tar+gzip into the blob store and indexed.
 * Builds of the same fingerprint in one run share one promise (pure layers on several platforms).
 */
export class LayerMaker {
  private readonly inflight = new Map<string, Promise<MaterializedLayer>>();

  constructor(
    private readonly cache: LayerCache,
    private readonly opts: { noCache: boolean; epoch: number; events: Events },
  ) {}

  make(plan: PlannedLayer, platform?: string): Promise<MaterializedLayer> {
    let p = this.inflight.get(plan.fingerprint);
    if (!p) {
      p = this.makeOnce(plan, platform);
      this.inflight.set(plan.fingerprint, p);
    }
    return p;
  }

  private async makeOnce(plan: PlannedLayer, platform: string | undefined): Promise<MaterializedLayer> {
    const { events } = this.opts;
    if (!this.opts.noCache) {
      const hit = await this.cache.index.get(plan.fingerprint);
      if (hit) {
        events({ type: 'layer', name: plan.name, ...(platform ? { platform } : {}), status: 'cached', digest: hit.descriptor.digest, size: hit.descriptor.size });
        return { layer: cachedLayer(this.cache.blobs, hit), reason: 'reused from local cache (same inputs)' };
      }
    }
    events({ type: 'layer', name: plan.name, ...(platform ? { platform } : {}), status: 'building' });
    const blob = await writeLayerBlob(await plan.entries(), { mtime: this.opts.epoch }, this.cache.blobs);
    const descriptor: Descriptor = {
      mediaType: MediaType.OciLayerGzip,
      digest: blob.digest,
      size: blob.size,
      annotations: { [Annotation.LayerName]: plan.name, [Annotation.LayerInputs]: plan.fingerprint },
    };
    await this.cache.index.set(plan.fingerprint, { descriptor, diffId: blob.diffId, name: plan.name });
    events({ type: 'layer', name: plan.name, ...(platform ? { platform } : {}), status: 'built', digest: blob.digest, size: blob.size });
    const layer = blobLayer(descriptor, blob.diffId, 'built', () => this.cache.blobs.open(blob.digest), plan.name);
    return { layer, reason: this.opts.noCache ? 'built (--no-cache)' : 'built (no cached layer with these inputs)' };
  }
}
