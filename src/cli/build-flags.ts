import { join } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import type { BuildOptions } from '../pipeline/options.js';
import { InputError } from '../errors.js';
import { registryMirrors } from '../config/user-config.js';
import { LayoutPublisher } from '../publish/layout.js';
import type { Publisher } from '../publish/publisher.js';
import { parseLayerCacheSetting } from '../publish/layer-cache-setting.js';
import { RegistryPublisher } from '../publish/registry.js';
import { TarballPublisher } from '../publish/tarball.js';
import { parseReferenceAt } from '../ref/reference.js';
import { defaultCacheDir, parsePlatforms } from './main.js';

/** SOURCE_DATE_EPOCH from the environment (default 0: reproducible), checked. */
export function sourceDateEpoch(): number {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw))
    throw new InputError(
      'SHALE_BAD_EPOCH',
      `SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds since 1970; unset it or set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`,
    );
  return Number(raw);
}

/**
 * The build options every building command shares (`build`, `validate`), from its flags and
 * the environment: cache, registries, platforms, SOURCE_DATE_EPOCH, mirrors. No publishers:
 * each command adds its own.
 */
export function buildOptionsFromFlags(flags: Record<string, unknown>): BuildOptions {
  const noCache = flags.cache === false;
  const opts: BuildOptions = {
    cacheDir: typeof flags.cacheDir === 'string' ? flags.cacheDir : defaultCacheDir(),
    noCache,
    publishers: [],
    // --no-cache reads no earlier image, so its --cache-from references are not even looked at.
    cacheFrom: noCache ? [] : ((flags.cacheFrom as string[] | undefined) ?? []).map((r) => parseReferenceAt('--cache-from', r)),
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    epoch: sourceDateEpoch(),
    mirrors: registryMirrors(),
  };
  if (Array.isArray(flags.registryCa)) opts.registryCa = flags.registryCa as string[];
  if (typeof flags.platform === 'string') opts.platforms = parsePlatforms(flags.platform);
  if (typeof flags.retryBudget === 'string') opts.retryBudgetMs = retryBudget(flags.retryBudget);
  return opts;
}

/** `--retry-budget SECONDS`: a number of seconds, 0 or more (0: never retry). */
function retryBudget(text: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0) {
    throw new InputError('SHALE_BAD_RETRY_BUDGET', `--retry-budget: "${text}" is not a number of seconds; write it like --retry-budget 120 (0 never retries)`);
  }
  return s * 1000;
}

/**
 * Where `shale build` sends the image, from `--push`, `--tar` and `--oci`, in that order (a
 * failed push so writes no file). With none of them, the OCI layout DIR/.shale/image. The tag is
 * the push reference's (else `latest`); the tarball names the image after the push repository,
 * else after the config's repository.
 */
export function publishersFromFlags(flags: Record<string, unknown>, spec: BuildSpec): Publisher[] {
  const push = typeof flags.push === 'string' ? flags.push : undefined;
  const tar = typeof flags.tar === 'string' ? flags.tar : undefined;
  const oci = typeof flags.oci === 'string' ? flags.oci : undefined;
  const pushRef = push === undefined ? undefined : parseReferenceAt('--push', push);
  const tag = pushRef?.tag ?? 'latest';
  const publishers: Publisher[] = [];
  // Outputs and messages name the target as the user wrote it. The layer cache: the flag, else
  // the config's registry-cache, else the push repository's default.
  const cache = typeof flags.registryCache === 'string' ? parseLayerCacheSetting('--registry-cache', flags.registryCache) : spec.registryCache;
  if (pushRef) publishers.push(new RegistryPublisher(pushRef, { name: push ?? '', ...(cache === undefined ? {} : { layerCache: cache }) }));
  if (tar !== undefined) {
    const repoTag = pushRef ? `${pushRef.registry}/${pushRef.repository}:${tag}` : `${spec.repository}:${tag}`;
    publishers.push(new TarballPublisher(tar, { repoTags: [repoTag] }));
  }
  if (oci !== undefined || (!pushRef && tar === undefined)) publishers.push(new LayoutPublisher(oci ?? join(spec.projectDir, '.shale', 'image'), { tag }));
  return publishers;
}
