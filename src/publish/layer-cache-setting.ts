import { InputError } from '../errors.js';
import { parseReferenceAt, type Reference } from '../ref/reference.js';

/** The tag of a repository's layer cache unless told otherwise (src/publish/layer-cache.ts). */
export const LAYER_CACHE_TAG = 'shale-cache';

/**
 * The layer cache a setting names (`registry-cache` in the config, `--registry-cache`): "off"
 * (false), or a registry reference; without a tag the tag is `shale-cache`. A digest is refused:
 * a cache is rewritten after each push, so it lives at a tag. `what` names the key or flag in
 * the error (exit 2).
 */
export function parseLayerCacheSetting(what: string, text: string): Reference | false {
  if (text.trim() === 'off') return false;
  const ref = parseReferenceAt(what, text);
  if (ref.digest !== undefined) {
    throw new InputError(
      'SHALE_BAD_REFERENCE',
      `${what}: "${text}" names a digest, but the layer cache is rewritten after each push, so it must be a tag (like registry.example.com/app:shale-cache), or "off"`,
    );
  }
  // parseReference gives a bare name the tag "latest"; a cache without one takes its own.
  const named = text.trim();
  const hasTag = named.lastIndexOf(':') > named.lastIndexOf('/');
  return hasTag ? ref : { registry: ref.registry, repository: ref.repository, tag: LAYER_CACHE_TAG };
}
