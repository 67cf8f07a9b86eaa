import type { Entry } from '../../layer/entry.js';
import { Annotation } from '../../oci/annotations.js';
import { planLayers, type PlannedLayer } from '../../plan/layers.js';
import { keepUsersDirs, ownWritable, planUsers } from '../../plan/users-layer.js';
import type { BuildRun } from '../build-run.js';
import type { ChosenPackages } from './choose-packages.js';
import type { PlatformBase } from './resolve-base.js';
import { planSystem } from './system-packages.js';

/**
 * Step 3, per platform: the layers above the base (users, ca-certs, packages, local libraries, app)
 * and the fingerprint of each one's inputs, which decides whether a layer is reused or built.
 */
export async function plan(run: BuildRun, base: PlatformBase, chosen: ChosenPackages, app: Entry[]): Promise<PlannedLayer[]> {
  const { spec, opts } = run;
  // `user` and `writable` against this platform's base (its account files, read once per base digest),
  // and what was read recorded on the image, as the base's other facts are, for fresh runners.
  const users = await planUsers(spec, base.base, run.cache.base, opts.noCache, run.events, base.earlierFacts?.[Annotation.BaseUsers]);
  if (users) base.base = { ...base.base, facts: { ...base.base.facts, [Annotation.BaseUsers]: users.record } };
  const system = await planSystem(run, base); // Debian packages: the lowest layers above the base
  return [
    ...system,
    ...(await planLayers({
      spec,
      layout: base.layout,
      packages: chosen.packages,
      libs: chosen.libs,
      app: users ? keepUsersDirs(ownWritable(app, users.writable, users.account), users.entries) : app,
      epoch: opts.epoch,
      hashes: run.cache.hashes,
      baseLayers: base.base.layers.length + system.length,
      caCerts: await run.resolver.caCerts(),
      users,
    })),
  ];
}
