import { layerLabel } from '../oci/annotations.js';
import { artifactImages, imagePlatform, type Artifact, type Image } from '../oci/image.js';
import { platformString, type Digest } from '../oci/types.js';

/** One layer in a comparison of two images. */
export interface DiffLayer {
  name: string;
  digest: Digest;
  size: number;
  /** In both images, only in the first (A), or only in the second (B). */
  where: 'both' | 'a' | 'b';
}

/** The comparison of one platform's images. */
export interface PlatformDiff {
  platform: string;
  layers: DiffLayer[];
  /** Bytes a pull of B moves when A is already there: B's new layers, its config and manifest. */
  pullBytes: number;
  /** Layers and bytes A and B share. */
  shared: { layers: number; bytes: number };
}

const platformOf = (img: Image): string => platformString(imagePlatform(img));

/**
 * Compares two images platform by platform (`shale diff A B`): which layers they share, which
 * each has alone, and how many bytes a pull of B moves on a machine that holds A. Layers are the
 * same when their blobs are (same digest), wherever they sit.
 */
export function diffImages(a: Artifact, b: Artifact): PlatformDiff[] {
  const aByPlatform = new Map(artifactImages(a).map((img) => [platformOf(img), img]));
  return artifactImages(b).map((imgB) => {
    const platform = platformOf(imgB);
    const imgA = aByPlatform.get(platform) ?? artifactImages(a)[0];
    const inA = new Set(imgA?.manifest.layers.map((l) => l.digest) ?? []);
    const inB = new Set(imgB.manifest.layers.map((l) => l.digest));
    const layers: DiffLayer[] = imgB.manifest.layers.map((d) => ({
      name: layerLabel(d),
      digest: d.digest,
      size: d.size,
      where: inA.has(d.digest) ? 'both' : 'b',
    }));
    imgA?.manifest.layers.forEach((d) => {
      if (!inB.has(d.digest)) layers.push({ name: layerLabel(d), digest: d.digest, size: d.size, where: 'a' });
    });
    const onlyB = layers.filter((l) => l.where === 'b');
    const both = layers.filter((l) => l.where === 'both');
    const pullBytes = onlyB.reduce((n, l) => n + l.size, 0) + imgB.manifest.config.size + imgB.manifestBytes.length;
    return { platform, layers, pullBytes, shared: { layers: both.length, bytes: both.reduce((n, l) => n + l.size, 0) } };
  });
}
