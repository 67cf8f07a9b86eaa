import { DEFAULT_EXCLUDES } from '../plan/app-files.js';
import { verdict, type CheckResult, type ImageView } from './result.js';

/** Name of the layer that holds the app's own files (src/plan). */
export const APP_LAYER = 'app';

/** A default exclude as a test on one path component ("*.pem" → /^[^/]*\.pem$/). */
function componentMatcher(pattern: string): RegExp {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

const MATCHERS = DEFAULT_EXCLUDES.map((p) => ({ pattern: p, re: componentMatcher(p) }));

/**
 * Nothing the default excludes name (SPEC.md: .git/, .env, .venv/, __pycache__/, *.pyc, .shale/,
 * node_modules/, *.pem, id_rsa*) is in the app layer: secrets and caches do not ship.
 */
export function checkExcluded(images: readonly ImageView[]): CheckResult {
  const problems = new Set<string>();
  const seen = new Set<string>();
  let files = 0;
  for (const img of images) {
    for (const layer of img.layers.filter((l) => l.shale && l.name === APP_LAYER)) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      for (const e of layer.entries) {
        files++;
        const parts = e.path.split('/').filter(Boolean);
        const hit = MATCHERS.find((m) => parts.some((c) => m.re.test(c)));
        if (hit) problems.add(`${e.path} is in the app layer (matches the default exclude "${hit.pattern}")`);
      }
    }
  }
  if (seen.size === 0) return { name: 'no-excluded-files', ok: true, reason: 'the image has no app layer', problems: [] };
  return verdict('no-excluded-files', [...problems], `none of the app layer's ${files} entries matches a default exclude (${DEFAULT_EXCLUDES.join(' ')})`);
}
