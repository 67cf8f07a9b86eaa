import { layerLabel, shaleLayerName } from '../oci/annotations.js';
import { artifactImages, imagePlatform, type Artifact, type Layer } from '../oci/image.js';
import { mapLimit } from '../limit.js';
import { readLayerEntries, type LayerEntry } from './layer-entries.js';
import type { ImageView } from './result.js';

/** Layers read at once: each is a gunzip + tar parse of a stream. */
const CONCURRENCY = 4;

/**
 * Reads every layer of an artifact once (a layer shared by several platforms is one blob, read
 * once) and returns one view per platform for the checks.
 */
export async function imageViews(artifact: Artifact, where: string): Promise<ImageView[]> {
  const images = artifactImages(artifact);
  const unique = new Map<string, Layer>();
  for (const img of images) for (const l of img.layers) unique.set(l.descriptor.digest, l);
  const read = await mapLimit(
    [...unique.values()],
    CONCURRENCY,
    async (l) => [l.descriptor.digest, await readLayerEntries(() => l.open(), `layer ${l.descriptor.digest} of ${where}`)] as const,
  );
  const entries = new Map<string, LayerEntry[]>(read);
  return images.map((img) => ({
    platform: imagePlatform(img),
    config: img.config,
    layers: img.layers.map((l) => ({
      name: layerLabel(l.descriptor),
      digest: l.descriptor.digest,
      shale: shaleLayerName(l.descriptor) !== undefined,
      entries: entries.get(l.descriptor.digest) ?? [],
    })),
  }));
}
