import { Annotation, layerLabel } from '../oci/annotations.js';
import { artifactImages, imagePlatform, type Artifact } from '../oci/image.js';
import { platformString, type Digest } from '../oci/types.js';

/** One row of `shale history`. */
export interface HistoryRow {
  platform: string;
  name: string;
  digest: Digest;
  size: number;
  createdBy: string;
  /** The layer's input fingerprint, for shale-made layers. */
  inputs?: string;
}

/**
 * The layers of each image with what made them: the layer name annotation and the config's
 * history entry for that layer (entries with `empty_layer` are skipped, as docker history does).
 */
export function imageHistory(artifact: Artifact): HistoryRow[] {
  return artifactImages(artifact).flatMap((img) => {
    const platform = platformString(imagePlatform(img));
    const history = (img.config.history ?? []).filter((h) => !h.empty_layer);
    const aligned = history.length === img.manifest.layers.length;
    return img.manifest.layers.map((d, i) => {
      const row: HistoryRow = {
        platform,
        name: layerLabel(d),
        digest: d.digest,
        size: d.size,
        createdBy: aligned ? (history[i]?.created_by ?? '') : '',
      };
      const inputs = d.annotations?.[Annotation.LayerInputs];
      if (inputs) row.inputs = inputs;
      return row;
    });
  });
}
