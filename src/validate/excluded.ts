import { DEFAULT_EXCLUDES, defaultExcludes } from '../plan/excludes.js';
import { verdict, type CheckResult, type ImageView } from './result.js';

/** Name of the layer that holds the app's own files (src/plan). */
export const APP_LAYER = 'app';

/**
 * Nothing the default excludes name (DEFAULT_EXCLUDES in src/plan/excludes.ts, the list the
 * build leaves out: .git/, .env*, .venv/, __pycache__/, *.pyc, keys, credentials, ...) is in the
 * app layer: secrets and caches do not ship. The build and this check match with the same rules.
 */
export function checkExcluded(images: readonly ImageView[]): CheckResult {
  const problems = new Set<string>();
  const seen = new Set<string>();
  const defaults = defaultExcludes();
  let files = 0;
  for (const img of images) {
    for (const layer of img.layers.filter((l) => l.shale && l.name === APP_LAYER)) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      for (const e of layer.entries) {
        files++;
        const hit = defaults.match(e.path.replace(/\/+$/, ''));
        if (hit) problems.add(`${e.path} is in the app layer (matches the default exclude "${hit}")`);
      }
    }
  }
  if (seen.size === 0) return { name: 'no-excluded-files', ok: true, reason: 'the image has no app layer', problems: [] };
  return verdict('no-excluded-files', [...problems], `none of the app layer's ${files} entries matches a default exclude (${DEFAULT_EXCLUDES.join(' ')})`);
}
