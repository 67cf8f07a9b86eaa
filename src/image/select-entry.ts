import { InputError } from '../errors.js';
import { Annotation } from '../oci/annotations.js';
import type { Descriptor } from '../oci/types.js';

/**
 * Picks the image an `index.json` (of a layout or a tarball) means: the entry whose ref name (or
 * full image name, or digest) is `ref`; without `ref`, the only image there is. Several different
 * images and no `ref` is an error that lists the names to choose from.
 */
export function selectEntry(manifests: readonly Descriptor[], ref: string | undefined, where: string): Descriptor {
  const names = (d: Descriptor): string[] =>
    [d.annotations?.[Annotation.RefName], d.annotations?.[Annotation.ContainerdImageName]].filter((x): x is string => x !== undefined);
  const list = (): string => manifests.map((d) => names(d)[0] ?? d.digest).join(', ');
  if (ref !== undefined) {
    const hit = manifests.find((d) => d.digest === ref || names(d).includes(ref));
    if (!hit) throw new InputError('SHALE_REF_NOT_FOUND', `${where} has no image named "${ref}"; it has: ${list() || 'nothing'}.`);
    return hit;
  }
  const first = manifests[0];
  if (!first) throw new InputError('SHALE_EMPTY_LAYOUT', `${where} holds no images (its index.json lists no manifests).`);
  if (manifests.some((d) => d.digest !== first.digest)) {
    throw new InputError('SHALE_AMBIGUOUS_REF', `${where} holds ${manifests.length} images (${list()}); name the one you mean.`);
  }
  return first;
}
