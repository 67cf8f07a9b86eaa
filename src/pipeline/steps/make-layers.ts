import { layerLabel } from '../../oci/annotations.js';
import { projectPathOf } from '../../plan/explain.js';
import type { PlannedLayer } from '../../plan/layers.js';
import type { Publisher } from '../../publish/publisher.js';
import type { BuildRun } from '../build-run.js';
import { LayerMaker, type MaterializedLayer } from '../materialize.js';
import type { RemoteLayers } from '../registry-cache.js';
import type { LayerReport } from '../result.js';
import type { ChosenPackages } from './choose-packages.js';
import type { PlatformBase } from './resolve-base.js';

/**
 * The layer maker of a run, shared by every platform so a layer with the same inputs on several
 * platforms is made once: it looks in the local cache, then in the earlier images, else builds.
 */
export function layerMaker(run: BuildRun, earlier: RemoteLayers): LayerMaker {
  const { opts, events, cache } = run;
  const layers = { blobs: cache.blobs, index: cache.layers, records: cache.records, remote: earlier };
  const libDirs = (run.spec.layers ?? []).flatMap((l) => l.paths ?? []);
  const projectPath = projectPathOf(run.spec.projectDir, run.spec.app, libDirs);
  return new LayerMaker(layers, { noCache: opts.noCache, epoch: opts.epoch, events, projectDir: run.spec.projectDir, projectPath });
}

/** One platform's layers above the base, made, and a report line for every layer of the image. */
export interface MadeLayers {
  made: MaterializedLayer[];
  reports: LayerReport[];
}

/**
 * Step 4, per platform: every planned layer made real, each from the local cache, an earlier
 * image in a registry (by its inputs' fingerprint) or built. First every path conflict is
 * checked and every layer looked up in the local cache, so the builds that remain queue
 * together and the heaviest start first. The publisher is told of each layer as it exists (the
 * base's at once), so a registry uploads while the rest are built.
 */
export async function makeLayers(
  run: BuildRun,
  maker: LayerMaker,
  base: PlatformBase,
  plans: readonly PlannedLayer[],
  chosen: ChosenPackages,
  publisher: Publisher,
): Promise<MadeLayers> {
  await Promise.all([maker.checkPaths(plans, chosen.packages, base.layout, run.cache), ...plans.map((p) => maker.lookup(p))]);
  const { name: platform, base: image } = base;
  image.layers.forEach((l) => publisher.layer?.(l));
  const made = await Promise.all(
    plans.map(async (p) => {
      const m = await maker.make(p, platform, run.platforms.length > 1);
      publisher.layer?.(m.layer);
      return m;
    }),
  );
  const reports: LayerReport[] = [
    ...image.layers.map((l) => ({
      name: layerLabel(l.descriptor),
      kind: 'base' as const,
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      source: 'base' as const,
      platform,
      reason: `from ${image.name}`,
    })),
    ...made.map((m, j) => ({
      name: plans[j]!.name,
      kind: plans[j]!.kind,
      digest: m.layer.descriptor.digest,
      size: m.layer.descriptor.size,
      source: m.source,
      platform,
      reason: m.reason,
    })),
  ];
  return { made, reports };
}
