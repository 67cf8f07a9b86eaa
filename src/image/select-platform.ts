import { InputError } from '../errors.js';
import { imagePlatform, type Image } from '../oci/image.js';
import { platformMatches, platformString, type Descriptor, type ImageIndex, type Platform } from '../oci/types.js';
import { isRunnable, type OpenedArtifact } from './opened.js';

/** The index entry for a platform (arm64 without a variant matches v8), or undefined. */
export function platformEntry(index: ImageIndex, platform: Platform): Descriptor | undefined {
  return index.manifests.find((m) => platformMatches(m.platform, platform));
}

/** The platforms an index has runnable images for, as "linux/amd64" (attestations left out). */
export function indexPlatforms(index: ImageIndex): string[] {
  return index.manifests.flatMap((m) => (m.platform && isRunnable(m) ? [platformString(m.platform)] : []));
}

/**
 * The image of one platform, as `docker pull --platform` picks it: the index's entry for it, or
 * the image itself when its config is for that platform. `name` says in errors what was opened.
 */
export async function platformImage(opened: OpenedArtifact, platform: Platform, name: string): Promise<Image> {
  const want = platformString(platform);
  if (opened.kind === 'image') {
    const have = imagePlatform(opened.image);
    if (!platformMatches(have, platform))
      throw new InputError('SHALE_NO_SUCH_PLATFORM', `${name} is a single ${platformString(have)} image; it has no ${want} image.`);
    return opened.image;
  }
  const entry = platformEntry(opened.index.index, platform);
  if (!entry)
    throw new InputError('SHALE_NO_SUCH_PLATFORM', `${name} has no ${want} image (it has: ${indexPlatforms(opened.index.index).join(', ') || 'none'}).`);
  return opened.index.image(entry);
}
