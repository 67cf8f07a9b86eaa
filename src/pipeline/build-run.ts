import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import type { Platform } from '../oci/types.js';
import { PackageHttp } from '../python/http.js';
import { RegistryClient } from '../registry/client.js';
import type { Cache } from '../store/cache.js';
import type { BuildOptions } from './options.js';
import { PackageResolver } from './packages.js';

/**
 * What every step of one build run shares: the inputs, the local cache (opened once per build),
 * one registry client (base pulls, the read of earlier images and pushes go through it, so
 * connections and tokens are reused) and the package resolver. Made by {@link openRun}; the
 * runner closes the client when the run ends, however it ends.
 */
export interface BuildRun {
  spec: BuildSpec;
  opts: BuildOptions;
  events: Events;
  client: RegistryClient;
  /** The platforms built: the options' override, else the config's. */
  platforms: Platform[];
  cache: Cache;
  /** Reads the dependencies once and installs each wheel once, for every platform. */
  resolver: PackageResolver;
}

/** Opens one run of a build over `cache`: its registry client and package resolver. */
export function openRun(spec: BuildSpec, opts: BuildOptions, cache: Cache, events: Events): BuildRun {
  const client = new RegistryClient({
    insecureRegistries: opts.insecureRegistries,
    events,
    caFiles: opts.registryCa ?? [],
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retryBudgetMs === undefined ? {} : { retry: { budgetMs: opts.retryBudgetMs } }),
  });
  return {
    spec,
    opts,
    events,
    client,
    cache,
    platforms: opts.platforms ?? spec.platforms,
    resolver: new PackageResolver(spec, cache, events, packageHttp(opts, events)),
  };
}

/** The build's client for package indexes: the same Ctrl-C signal and retry budget as the registry client's. */
export function packageHttp(opts: Pick<BuildOptions, 'signal' | 'retryBudgetMs'>, events: Events): PackageHttp {
  return new PackageHttp({
    events,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.retryBudgetMs === undefined ? {} : { retry: { budgetMs: opts.retryBudgetMs } }),
  });
}

/**
 * Ends a run that published: what the cache keeps in memory (file hashes) is saved for the
 * next build, and when something was built (so temp files were written) the temp files of
 * builds that died are swept away.
 */
export async function finishRun(run: BuildRun, builtSomething: boolean): Promise<void> {
  await run.cache.save();
  if (!builtSomething) return;
  const freed = await run.cache.sweep().catch(() => 0);
  if (freed) run.events({ type: 'log', level: 'info', message: `removed ${freed} bytes of temporary files that interrupted builds left in ${run.cache.dir}` });
}
