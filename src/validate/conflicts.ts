import { platformString } from '../oci/types.js';
import { verdict, type CheckResult, type ImageView } from './result.js';

/**
 * No path is written by two shale layers with different contents: the later one would silently
 * win, so what is in the image would depend on layer order. Directories are exempt (each layer
 * lists its parents), and so are identical files (legacy namespace packages ship the same
 * `__init__.py` in several distributions), as the build's own check allows them.
 */
export function checkConflicts(images: readonly ImageView[]): CheckResult {
  // problem → the platforms it was seen on, so a shared conflict is reported once.
  const found = new Map<string, string[]>();
  let layers = 0;
  for (const img of images) {
    const owner = new Map<string, { layer: string; same: string }>();
    for (const layer of img.layers.filter((l) => l.shale)) {
      layers++;
      for (const e of layer.entries) {
        if (e.type === 'dir') continue;
        const same = `${e.type}|${e.mode}|${e.sha256 ?? ''}|${e.linkname ?? ''}`;
        const first = owner.get(e.path);
        if (first === undefined) owner.set(e.path, { layer: layer.name, same });
        else if (first.layer !== layer.name && first.same !== same) {
          const msg = `${e.path} is written by layers ${first.layer} and ${layer.name}, with different contents`;
          found.set(msg, [...(found.get(msg) ?? []), platformString(img.platform)]);
        }
      }
    }
  }
  const problems = [...found].map(([msg, plats]) => (images.length > 1 ? `${msg} (${plats.join(', ')})` : msg));
  return verdict('no-conflicts', problems, `no path is written by two of the ${layers} shale layers`);
}
