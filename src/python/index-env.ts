import type { BuildSpec } from '../config/spec.js';
import type { RequirementsOptions } from './requirements.js';

/** PyPI's simple index: the index when nothing names another. */
export const DEFAULT_INDEX_URL = 'https://pypi.org/simple';

const urls = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((u) => u !== '');

/**
 * The indexes to search, as pip and uv choose them: the lock's own `--index-url` first, then
 * `index-url` in [tool.shale], then the environment (`PIP_INDEX_URL`, `UV_INDEX_URL`,
 * `UV_DEFAULT_INDEX`), then PyPI. Extra indexes add up from the lock, the config and
 * `PIP_EXTRA_INDEX_URL` / `UV_EXTRA_INDEX_URL` (space-separated, as those tools take them).
 */
export function indexSources(
  spec: Pick<BuildSpec, 'indexUrl' | 'extraIndexUrls'>,
  lock: Pick<RequirementsOptions, 'indexUrl' | 'extraIndexUrls'>,
  env: NodeJS.ProcessEnv = process.env,
): { indexUrl: string; extraIndexUrls: string[] } {
  const indexUrl =
    lock.indexUrl ?? spec.indexUrl ?? urls(env.PIP_INDEX_URL)[0] ?? urls(env.UV_INDEX_URL)[0] ?? urls(env.UV_DEFAULT_INDEX)[0] ?? DEFAULT_INDEX_URL;
  const extra = [...lock.extraIndexUrls, ...(spec.extraIndexUrls ?? []), ...urls(env.PIP_EXTRA_INDEX_URL), ...urls(env.UV_EXTRA_INDEX_URL)];
  return { indexUrl, extraIndexUrls: [...new Set(extra)].filter((u) => u !== indexUrl) };
}

/**
 * Whether the user named an index (config, the lock's options, or PIP_/UV_ environment
 * variables) rather than leaving PyPI as the default: a lock's files are then looked for on it
 * too, so a company mirror or an offline index serves them (the hash decides, not the URL).
 */
export function indexConfigured(
  spec: Pick<BuildSpec, 'indexUrl' | 'extraIndexUrls'>,
  lock: Pick<RequirementsOptions, 'indexUrl' | 'extraIndexUrls'>,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const named = [lock.indexUrl, spec.indexUrl, ...urls(env.PIP_INDEX_URL), ...urls(env.UV_INDEX_URL), ...urls(env.UV_DEFAULT_INDEX)];
  return named.some((u) => u !== undefined) || indexSources(spec, lock, env).extraIndexUrls.length > 0;
}
