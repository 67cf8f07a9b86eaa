import { platformString } from '../oci/types.js';
import { verdict, type CheckResult, type ImageView } from './result.js';

/**
 * No path is written by two shale layers: the later one would silently win, so what is in the
 * image would depend on layer order. Directories are exempt (each layer lists its parents).
 */
export function checkConflicts(images: readonly ImageView[]): CheckResult {
  // problem → the platforms it was seen on, so a shared conflict is reported once.
  const found = new Map<string, string[]>();
  let layers = 0;
  for (const img of images) {
    const owner = new Map<string, string>();
    for (const layer of img.layers.filter((l) => l.shale)) {
      layers++;
      for (const e of layer.entries) {
        if (e.type === 'dir') continue;
        const first = owner.get(e.path);
        if (first === undefined) owner.set(e.path, layer.name);
        else if (first !== layer.name) {
          const msg = `${e.path} is written by layers ${first} and ${layer.name}`;
          found.set(msg, [...(found.get(msg) ?? []), platformString(img.platform)]);
        }
      }
    }
  }
  const problems = [...found].map(([msg, plats]) => (images.length > 1 ? `${msg} (${plats.join(', ')})` : msg));
  return verdict('no-conflicts', problems, `no path is written by two of the ${layers} shale layers`);
}
