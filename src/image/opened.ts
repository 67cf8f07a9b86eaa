import { ShaleError } from '../errors.js';
import type { Artifact, Image } from '../oci/image.js';
import type { Descriptor, Digest, ImageIndex } from '../oci/types.js';

/**
 * What a reference, an OCI layout or a tarball names, as it was opened: one image (manifest and
 * config read, layers lazy), or an index whose images are read only when asked for, so a build
 * that needs one platform of a ten-platform base reads one manifest and one config.
 */
export type OpenedArtifact = { kind: 'image'; image: Image } | { kind: 'index'; index: OpenedIndex };

/** An index as opened: its entries are known, its images read on demand. */
export interface OpenedIndex {
  readonly index: ImageIndex;
  readonly indexBytes: Buffer;
  readonly digest: Digest;
  /** Reads the image one of the index's entries points at (its manifest and config; layers stay lazy). */
  image(entry: Descriptor): Promise<Image>;
}

/** Whether an index entry is an image a container can run (build attestations say platform "unknown"). */
export const isRunnable = (entry: Descriptor): boolean => entry.platform?.os !== 'unknown';

/**
 * Everything an opened artifact holds: the image, or the index with every runnable image read
 * (attestations left out, as `docker pull` does).
 */
export async function loadArtifact(opened: OpenedArtifact): Promise<Artifact> {
  if (opened.kind === 'image') return opened;
  const { index } = opened;
  const images = await Promise.all(index.index.manifests.filter(isRunnable).map((entry) => index.image(entry)));
  return { kind: 'index', index: { index: index.index, indexBytes: index.indexBytes, digest: index.digest, images } };
}

/** An artifact already read whole, seen as opened (its images found by digest). */
export function openedOf(artifact: Artifact): OpenedArtifact {
  if (artifact.kind === 'image') return artifact;
  const { index } = artifact;
  return {
    kind: 'index',
    index: {
      index: index.index,
      indexBytes: index.indexBytes,
      digest: index.digest,
      image: (entry) => {
        const hit = index.images.find((img) => img.digest === entry.digest);
        return hit
          ? Promise.resolve(hit)
          : Promise.reject(new ShaleError('SHALE_BLOB_NOT_FOUND', `index ${index.digest} has no image ${entry.digest} that could be read.`));
      },
    },
  };
}
