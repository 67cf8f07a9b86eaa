import type { Entry } from '../../layer/entry.js';
import { Annotation } from '../../oci/annotations.js';
import { checkUniqueNames, planLayers, type PlannedLayer } from '../../plan/layers.js';
import { baseWorkdirDirs, baseWorkdirPaths, keepLowerDirs, ownedDirs } from '../../plan/lower-dirs.js';
import { ownWritable, planUsers } from '../../plan/users-layer.js';
import { mergeRecords } from '../../base/etc-files.js';
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
  const registry = base.earlierFacts?.[Annotation.BaseUsers];
  // The base's WorkingDir (read only when it sets one, with the account files when there are
  // any) and the users layer's directories: the layers above write them as they are there
  // (plan/lower-dirs.ts).
  const users = await planUsers(spec, base.base, run.cache.base, opts.noCache, run.events, registry, baseWorkdirPaths(base.base));
  const workdir = await baseWorkdirDirs(base.base, run.cache.base, opts.noCache, run.events, registry, users?.found);
  const record = mergeRecords(users?.record, workdir.record);
  if (record !== undefined) base.base = { ...base.base, facts: { ...base.base.facts, [Annotation.BaseUsers]: record } };
  const lower = new Map([...workdir.dirs, ...(users ? ownedDirs(users.entries) : [])]);
  const system = await planSystem(run, base); // Debian packages: the lowest layers above the base
  const layers = [
    ...system,
    ...(await planLayers({
      spec,
      layout: base.layout,
      packages: chosen.packages,
      libs: chosen.libs.map((l) => ({ ...l, entries: keepLowerDirs(l.entries, lower) })),
      app: keepLowerDirs(users ? ownWritable(app, users.writable, users.account) : app, lower),
      epoch: opts.epoch,
      hashes: run.cache.hashes,
      baseLayers: base.base.layers.length + system.length,
      caCerts: await run.resolver.caCerts(),
      users,
    })),
  ];
  // A system layer's name against the ones shale chose for packages (`pkg-numpy`, `deps-pure-3`).
  checkUniqueNames(layers, spec.configFile);
  return layers;
}
