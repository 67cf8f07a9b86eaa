import type { LibInput, PackageInput } from '../../plan/layers.js';
import type { BuildRun } from '../build-run.js';
import type { PlatformBase } from './resolve-base.js';

/** The packages of one platform: third-party wheels and the project's local libraries. */
export interface ChosenPackages {
  packages: PackageInput[];
  libs: LibInput[];
}

/**
 * Step 2, per platform: the lock's packages for this platform (checked for completeness) or the
 * requirements resolved for it, each with the wheel that fits the base's Python and C library,
 * and the local libraries. Wheels are named by hash and size, not downloaded: only a layer that
 * must be built fetches and installs them.
 */
export async function choosePackages(run: BuildRun, base: PlatformBase): Promise<ChosenPackages> {
  const [packages, libs] = await Promise.all([run.resolver.packages(base.env, base.layout), run.resolver.libs(base.layout)]);
  return { packages, libs };
}
