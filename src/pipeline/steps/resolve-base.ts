import { platformString, type Platform } from '../../oci/types.js';
import { formatLibc, UNUSED_LIBC } from '../../python/libc.js';
import { detectPythonLayout, type InstallLayout } from '../../python/layout.js';
import type { TargetEnv } from '../../python/tags.js';
import { parseReferenceAt } from '../../ref/reference.js';
import type { BaseImage } from '../assemble.js';
import { resolveBase } from '../base.js';
import { baseLibc } from '../base-libc.js';
import type { BuildRun } from '../build-run.js';
import type { RemoteLayers } from '../registry-cache.js';

/**
 * Step 1: the base image of every platform: its manifest and config, from a mirror first. No
 * layer is downloaded; each opens lazily, and remembers the repository that holds it so a push
 * to the same registry mounts it.
 */
export function resolveBases(run: BuildRun): Promise<BaseImage[]> {
  const { spec, opts, events } = run;
  events({ type: 'step', step: 'resolving base image', detail: spec.base });
  const ref = parseReferenceAt(`${spec.configFile}: \`base\``, spec.base);
  return resolveBase(run.client, ref, run.platforms, opts.mirrors);
}

/** One platform's base, completed with what wheel choice needs: its C library and its Python. */
export interface PlatformBase {
  platform: Platform;
  /** "linux/amd64", as layer events and reports name the platform. */
  name: string;
  /** The base, with `libc` set when it is known (recorded on the image for later builds). */
  base: BaseImage;
  layout: InstallLayout;
  /** Python version, platform and C library: what wheel tags are matched against. */
  env: TargetEnv;
}

/**
 * Step 1, per platform: the base's C library (the `libc` key, else a record of an earlier build
 * for the same base digest, locally or on an earlier image, else read from the base's layers,
 * and only when there are packages to choose) and its Python install layout.
 */
export async function platformBase(run: BuildRun, resolved: BaseImage, platform: Platform, earlier: RemoteLayers): Promise<PlatformBase> {
  const { spec, opts, events } = run;
  const needed = (await run.resolver.dependencies()) !== undefined;
  const libc = await baseLibc(resolved, spec.libc, { cacheDir: opts.cacheDir, noCache: opts.noCache, fromRegistry: earlier.baseLibc, events, needed });
  const base = libc ? { ...resolved, libc: formatLibc(libc) } : resolved;
  const py = detectPythonLayout(base.config.config?.Env ?? [], spec.python);
  return { platform, name: platformString(platform), base, layout: py.layout, env: { python: py.python, platform, libc: libc ?? UNUSED_LIBC } };
}
