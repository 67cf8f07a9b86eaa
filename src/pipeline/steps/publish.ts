import type { Artifact } from '../../oci/image.js';
import type { PublishReport, Publisher } from '../../publish/publisher.js';
import { referenceString, repoString } from '../../ref/reference.js';
import type { BuildRun } from '../build-run.js';
import type { RemoteLayers } from '../registry-cache.js';

/**
 * Step 6 begins before any layer exists: the publishers are started with the run's registry
 * client and what the earlier-image read found at their registry tags, so they can take layers
 * early (a registry uploads them while the rest are built) and know what the target holds.
 */
export function startPublishing(run: BuildRun, publisher: Publisher, earlier: RemoteLayers): void {
  publisher.start?.({
    client: run.client,
    events: run.events,
    current: (ref) => earlier.current.get(referenceString(ref)),
    held: (ref) => earlier.held.get(repoString(ref)),
  });
}

/** Step 6: the finished artifact handed to the publishers, in their order; what they did comes back. */
export function handOver(run: BuildRun, publisher: Publisher, artifact: Artifact): Promise<PublishReport> {
  return publisher.publish(artifact, run.events);
}
