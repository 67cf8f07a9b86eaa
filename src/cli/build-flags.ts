import type { BuildOptions } from '../pipeline/options.js';
import { InputError } from '../errors.js';
import { registryMirrors } from '../config/user-config.js';
import { defaultCacheDir, parsePlatforms } from './main.js';

/** SOURCE_DATE_EPOCH from the environment (default 0: reproducible), checked. */
export function sourceDateEpoch(): number {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new InputError('SHALE_BAD_EPOCH', `SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds since 1970; unset it or set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`);
  return Number(raw);
}

/**
 * The build options every building command shares (`build`, `validate`), from its flags and
 * the environment: cache, registries, platforms, SOURCE_DATE_EPOCH, mirrors.
 */
export function buildOptionsFromFlags(flags: Record<string, unknown>): BuildOptions {
  const opts: BuildOptions = {
    cacheDir: typeof flags.cacheDir === 'string' ? flags.cacheDir : defaultCacheDir(),
    noCache: flags.cache === false,
    cacheFrom: (flags.cacheFrom as string[] | undefined) ?? [],
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    epoch: sourceDateEpoch(),
    mirrors: registryMirrors(),
  };
  if (Array.isArray(flags.registryCa)) opts.registryCa = flags.registryCa as string[];
  if (typeof flags.platform === 'string') opts.platforms = parsePlatforms(flags.platform);
  return opts;
}
