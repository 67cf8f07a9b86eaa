import type { Publisher } from '../../publish/publisher.js';
import type { BuildRun } from '../build-run.js';
import { registryLayers, RemoteLayers } from '../registry-cache.js';

/**
 * Step 1, beside the base: the earlier images whose layers this build may reuse without
 * building, downloading or uploading them: what the publishers' registry tags name now, their
 * layer caches (one small manifest each), then any `cacheFrom` images (manifests and configs only). With `noCache` none is read, and the
 * publishers are told nothing is there.
 */
export function readEarlierImages(run: BuildRun, publisher: Publisher): Promise<RemoteLayers> {
  const { opts } = run;
  if (opts.noCache) return Promise.resolve(new RemoteLayers());
  return registryLayers(run.client, { targets: publisher.previous ?? [], caches: publisher.layerCaches ?? [], cacheFrom: opts.cacheFrom }, run.events);
}
