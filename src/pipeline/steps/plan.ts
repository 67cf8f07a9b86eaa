import type { Entry } from '../../layer/entry.js';
import { planLayers, type PlannedLayer } from '../../plan/layers.js';
import type { BuildRun } from '../build-run.js';
import type { ChosenPackages } from './choose-packages.js';
import type { PlatformBase } from './resolve-base.js';

/**
 * Step 3, per platform: the layers above the base (ca-certs, packages, local libraries, app)
 * and the fingerprint of each one's inputs, which decides whether a layer is reused or built.
 */
export async function plan(run: BuildRun, base: PlatformBase, chosen: ChosenPackages, app: Entry[]): Promise<PlannedLayer[]> {
  const { spec, opts } = run;
  return planLayers({
    spec, layout: base.layout, packages: chosen.packages, libs: chosen.libs, app, epoch: opts.epoch, hashes: run.cache.hashes,
    baseLayers: base.base.layers.length, caCerts: await run.resolver.caCerts(),
  });
}
