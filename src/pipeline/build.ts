import type { BuildSpec } from '../config/spec.js';
import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import { artifactDigest } from '../oci/image.js';
import { MultiPublisher } from '../publish/multi.js';
import { Cache } from '../store/cache.js';
import { finishRun, openRun } from './build-run.js';
import type { BuildOptions } from './options.js';
import type { BuildResult } from './result.js';
import { assembleArtifact, assemblePlatform } from './steps/assemble-image.js';
import { choosePackages } from './steps/choose-packages.js';
import { collectApp } from './steps/collect-app.js';
import { layerMaker, makeLayers } from './steps/make-layers.js';
import { plan } from './steps/plan.js';
import { handOver, startPublishing } from './steps/publish.js';
import { readEarlierImages } from './steps/read-earlier-images.js';
import { platformBase, resolveBases } from './steps/resolve-base.js';

/**
 * Builds the app's image and hands it to `opts.publishers`: resolve the base per platform,
 * choose the packages, plan the layers, make them (reused when their inputs are unchanged),
 * assemble config and manifests, publish. The steps are in `steps/`; this is their order.
 */
export async function build(spec: BuildSpec, opts: BuildOptions, events: Events): Promise<BuildResult> {
  const started = performance.now();
  const cache = Cache.open(opts.cacheDir, events);
  try {
    return await buildOnce(spec, opts, cache, events, started);
  } catch (err) {
    // A cached blob that no longer matches its digest was deleted when it was read; one more
    // run rebuilds it. Nothing was published yet that a second run would not publish the same.
    if (!(err instanceof ShaleError && err.code === 'SHALE_BLOB_CORRUPT')) throw err;
    events({ type: 'log', level: 'warn', message: `the local cache held a corrupt blob, now removed; building again (${err.message})` });
    return buildOnce(spec, opts, cache, events, started);
  }
}

/** One run of the steps. Platforms go through steps 1–5 side by side; step 6 takes them all. */
async function buildOnce(spec: BuildSpec, opts: BuildOptions, cache: Cache, events: Events, started: number): Promise<BuildResult> {
  const run = openRun(spec, opts, cache, events);
  try {
    const publisher = new MultiPublisher(opts.publishers);
    // 1. The base; while the registry answers, the app's files and the earlier images too.
    const [bases, app, earlier] = await Promise.all([resolveBases(run), collectApp(run), readEarlierImages(run, publisher)]);
    startPublishing(run, publisher, earlier);
    const maker = layerMaker(run, earlier);
    const built = await Promise.all(
      run.platforms.map(async (platform, i) => {
        const base = await platformBase(run, bases[i]!, platform, earlier); // 1, per platform: C library, Python
        const chosen = await choosePackages(run, base); // 2.
        const plans = await plan(run, base, chosen, app); // 3.
        const layers = await makeLayers(run, maker, base, plans, chosen, publisher); // 4. (publishers get each layer)
        return { image: assemblePlatform(run, base, chosen, plans, layers), reports: layers.reports }; // 5.
      }),
    );
    const artifact = assembleArtifact(
      built.map((b) => b.image),
      opts.epoch,
    ); // 5, all platforms
    const published = await handOver(run, publisher, artifact); // 6.
    const reports = built.flatMap((b) => b.reports);
    await finishRun(
      run,
      reports.some((r) => r.source === 'built'),
    );
    return {
      digest: artifactDigest(artifact),
      layers: reports,
      pushed: published.pushed,
      seconds: Math.round(performance.now() - started) / 1000,
      outputs: published.outputs,
      ...(published.reference === undefined ? {} : { reference: published.reference }),
    };
  } finally {
    await run.client.close();
  }
}
