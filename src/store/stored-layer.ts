import { lazyLayer, type Layer } from '../oci/image.js';
import type { BlobStore } from './blob-store.js';
import type { IndexedLayer } from './fingerprint-index.js';

/** The Layer for a fingerprint-index hit: its blob in the local store, opened only when a target needs it. */
export function cachedLayer(blobs: BlobStore, entry: IndexedLayer): Layer {
  return lazyLayer(entry.descriptor, entry.diffId, () => blobs.open(entry.descriptor.digest));
}
