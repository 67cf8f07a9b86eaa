import type { Events } from '../events.js';
import type { Artifact, Layer } from '../oci/image.js';
import type { Reference } from '../ref/reference.js';
import type { PublishReport, PublishSession, Publisher } from './publisher.js';

/**
 * Several publishers as one: `shale build --push REF --tar FILE` publishes to both. Each is
 * started and told of each layer (so a registry uploads early whatever else is asked); `publish`
 * runs them one after another in the order given and stops at the first failure, so a target
 * listed after one that failed is never touched (the CLI lists the registry first: a tarball
 * that cannot be written does not keep the tag from moving, but a failed push writes no file).
 * Their reports add up: every output in order, the bytes pushed summed, the first reference.
 */
export class MultiPublisher implements Publisher {
  readonly target: string;
  readonly previous: readonly Reference[];
  readonly layerCaches: readonly Reference[];

  constructor(private readonly publishers: readonly Publisher[]) {
    this.target = publishers.map((p) => p.target).join(', ');
    this.previous = publishers.flatMap((p) => p.previous ?? []);
    this.layerCaches = publishers.flatMap((p) => p.layerCaches ?? []);
  }

  /** Starts every publisher that needs it. */
  start(session: PublishSession): void {
    for (const p of this.publishers) p.start?.(session);
  }

  /** Tells every publisher that wants layers early. */
  layer(layer: Layer): void {
    for (const p of this.publishers) p.layer?.(layer);
  }

  /** Publishes to each in turn; the reports combined. */
  async publish(artifact: Artifact, events: Events): Promise<PublishReport> {
    const total: PublishReport = { outputs: [], pushed: { bytes: 0, blobs: 0 } };
    for (const p of this.publishers) {
      const r = await p.publish(artifact, events);
      total.outputs.push(...r.outputs);
      total.pushed.bytes += r.pushed.bytes;
      total.pushed.blobs += r.pushed.blobs;
      if (total.reference === undefined && r.reference !== undefined) total.reference = r.reference;
    }
    return total;
  }
}
