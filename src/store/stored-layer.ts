import type { Readable } from 'node:stream';
import type { Layer, LayerSource } from '../oci/image.js';
import { Annotation, type Descriptor, type Digest } from '../oci/types.js';
import type { BlobStore } from './blob-store.js';
import type { IndexedLayer } from './fingerprint-index.js';

/**
 * A Layer whose compressed bytes are a stored blob, opened only when a target needs them. The
 * name comes from `dev.shale.layer.name` when the descriptor has one, else `fallbackName`.
 */
export function blobLayer(
  descriptor: Descriptor,
  diffId: Digest,
  source: LayerSource,
  open: () => Promise<Readable>,
  fallbackName = 'base',
): Layer {
  const name = descriptor.annotations?.[Annotation.LayerName] ?? fallbackName;
  return { descriptor, diffId, source, name, open };
}

/** The Layer for a fingerprint-index hit, read from the local cache (`source: 'cache'`). */
export function cachedLayer(blobs: BlobStore, entry: IndexedLayer): Layer {
  return blobLayer(entry.descriptor, entry.diffId, 'cache', () => blobs.open(entry.descriptor.digest), entry.name);
}
