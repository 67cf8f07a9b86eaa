import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import type { Platform } from '../oci/types.js';
import { RegistryClient } from '../registry/client.js';
import { sweepStaleTemps } from '../store/cache-prune.js';
import { FileHashes } from '../store/file-hashes.js';
import type { BuildOptions } from './options.js';
import { PackageResolver } from './packages.js';

/**
 * What every step of one build run shares: the inputs, one registry client (base pulls, the
 * read of earlier images and pushes go through it, so connections and tokens are reused), the
 * package resolver and the remembered file hashes. Made by {@link openRun}; the runner closes
 * the client when the run ends, however it ends.
 */
export interface BuildRun {
  spec: BuildSpec;
  opts: BuildOptions;
  events: Events;
  client: RegistryClient;
  /** The platforms built: the options' override, else the config's. */
  platforms: Platform[];
  /** Reads the dependencies once and installs each wheel once, for every platform. */
  resolver: PackageResolver;
  hashes: FileHashes;
}

/** Opens one run of a build: its registry client and the caches shared by the steps. */
export function openRun(spec: BuildSpec, opts: BuildOptions, events: Events): BuildRun {
  const client = new RegistryClient({
    insecureRegistries: opts.insecureRegistries, events, caFiles: opts.registryCa ?? [], ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return {
    spec, opts, events, client,
    platforms: opts.platforms ?? spec.platforms,
    resolver: new PackageResolver(spec, opts.cacheDir, events),
    hashes: FileHashes.in(opts.cacheDir, events),
  };
}

/**
 * Ends a run that published: the file hashes are saved for the next build, and when something
 * was built (so temp files were written) the temp files of builds that died are swept away.
 */
export async function finishRun(run: BuildRun, builtSomething: boolean): Promise<void> {
  await run.hashes.save();
  if (!builtSomething) return;
  const freed = await sweepStaleTemps(run.opts.cacheDir).catch(() => 0);
  if (freed) run.events({ type: 'log', level: 'info', message: `removed ${freed} bytes of temporary files that interrupted builds left in ${run.opts.cacheDir}` });
}
