import { learnBase, factAnnotations } from '../../base/facts.js';
import { UNUSED_LIBC } from '../../base/libc.js';
import { installLayout, UNUSED_PYTHON, type BasePython } from '../../base/python.js';
import { isScratch, SCRATCH } from '../../config/scratch.js';
import { SCRATCH_ENV, scratchFacts } from '../../debian/scratch.js';
import { sha256 } from '../../oci/digest.js';
import { platformString, type ImageConfig, type Platform } from '../../oci/types.js';
import type { InstallLayout } from '../../python/layout.js';
import type { TargetEnv } from '../../python/tags.js';
import { parseReferenceAt } from '../../ref/reference.js';
import type { BaseImage } from '../assemble.js';
import { resolveBase } from '../base.js';
import type { BuildRun } from '../build-run.js';
import type { RemoteLayers } from '../registry-cache.js';
import { resolveSystem } from './system-packages.js';

/**
 * Step 1: the base image of every platform: its manifest and config, from a mirror first. No
 * layer is downloaded; each opens lazily, and remembers the repository that holds it so a push
 * to the same registry mounts it.
 */
export function resolveBases(run: BuildRun): Promise<BaseImage[]> {
  const { spec, opts, events } = run;
  if (isScratch(spec)) return Promise.resolve(run.platforms.map((p) => scratchBase(spec.distribution ?? '', p)));
  events({ type: 'step', step: 'resolving base image', detail: spec.base });
  const ref = parseReferenceAt(`${spec.configFile}: \`base\``, spec.base);
  return resolveBase(run.client, ref, run.platforms, opts.mirrors);
}

/**
 * The base of `base = "scratch"`: no layer, the usual PATH, no user. Its digest is no manifest's
 * but a name for what it is (records of its facts are kept by it); the image does not claim it.
 */
export function scratchBase(distribution: string, platform: Platform): BaseImage {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [...SCRATCH_ENV] },
    rootfs: { type: 'layers', diff_ids: [] },
  };
  return { name: SCRATCH, digest: sha256(`shale scratch ${distribution} ${platformString(platform)}`), config, layers: [] };
}

/** One platform's base, completed with what wheel choice and installs need: its C library and its Python. */
export interface PlatformBase {
  platform: Platform;
  /** "linux/amd64", as layer events and reports name the platform. */
  name: string;
  /** The base, with what was learned of it (recorded on the image as `dev.shale.base.*` for later builds). */
  base: BaseImage;
  /** The base's Python ({@link UNUSED_PYTHON} when nothing is installed into it and it is not known). */
  python: BasePython;
  /** Where packages and local libraries go: where the base's Python looks. */
  layout: InstallLayout;
  /** Python version, platform and C library: what wheel tags are matched against. */
  env: TargetEnv;
  /** What an earlier image in the registry recorded of this base (`dev.shale.base.*`), for later steps. */
  earlierFacts?: Readonly<Record<string, string>> | undefined;
}

/**
 * Step 1, per platform: what the build must know of the base (src/base/facts.ts): its C library
 * when wheels will be chosen, its Python when anything is installed or `python` is set (which
 * must then name it). Each comes from the config or the base's Env, else a record of an earlier
 * build for the same base digest (locally, or on an earlier image), else the base's layers.
 */
export async function platformBase(run: BuildRun, resolved: BaseImage, platform: Platform, earlier: RemoteLayers): Promise<PlatformBase> {
  const { spec, opts, events, cache } = run;
  const deps = (await run.resolver.dependencies()) !== undefined;
  const want = { libc: deps, python: deps || run.resolver.hasLibs() };
  const facts = isScratch(spec)
    ? scratchFacts((await resolveSystem(run, resolved, platform)).pins, spec, want)
    : await learnBase(resolved, { libc: spec.libc, python: spec.python }, want, {
        records: cache.base,
        noCache: opts.noCache,
        registry: earlier.baseFacts.get(resolved.digest),
        events,
      });
  const python = facts.python ?? UNUSED_PYTHON;
  const base: BaseImage = { ...resolved, facts: factAnnotations(facts) };
  return {
    platform,
    name: platformString(platform),
    base,
    python,
    layout: installLayout(python),
    env: { python: python.version, platform, libc: facts.libc ?? UNUSED_LIBC },
    earlierFacts: earlier.baseFacts.get(resolved.digest),
  };
}
