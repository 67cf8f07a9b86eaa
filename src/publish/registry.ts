import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import { BlobPusher } from '../image/blob-pusher.js';
import { pushArtifact } from '../image/remote.js';
import { artifactDigest, type Artifact, type Layer } from '../oci/image.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { PublishReport, PublishSession, Publisher, TargetImage } from './publisher.js';

// The push itself is the registry medium's writer; it is also what pushes an image without a build.
export { pushArtifact, type PushOptions, type PushResult } from '../image/remote.js';

/**
 * Publishes to a registry tag: the `shale build --push REF` target. Its reference is also read
 * before the build (`previous`), so layers the tag's image already has are reused, and the
 * blobs it references need no HEAD. Layers are sent as they exist (`layer`), overlapping the
 * building of the rest, from the same registry by mount when they came from there; `publish`
 * waits for them, then sends configs and manifests and moves the tag last, so a failed push
 * leaves the tag where it was. When the tag already names this very image nothing is sent.
 */
export class RegistryPublisher implements Publisher {
  readonly target: string;
  readonly previous: readonly Reference[];
  private run: { client: RegistryClient; pusher: BlobPusher; current: TargetImage | undefined } | undefined;

  /** `name` is how outputs and messages name the target (default: the normalized reference). */
  constructor(private readonly reference: Reference, options: { name?: string } = {}) {
    this.target = options.name ?? referenceString(reference);
    this.previous = [reference];
  }

  /** Begins a run: a fresh pusher over the build's client, told which blobs the tag's image has. */
  start(session: PublishSession): void {
    const current = session.current(this.reference);
    this.run = { client: session.client, current, pusher: new BlobPusher(session.client, this.reference, session.events, current?.blobs) };
  }

  /** Starts sending the layer's blob now; a failure is kept for `publish` to report. */
  layer(layer: Layer): void {
    void this.started().pusher.layer(layer).catch(() => undefined);
  }

  /** Pushes the artifact, unless the tag names it already. */
  async publish(artifact: Artifact, events: Events): Promise<PublishReport> {
    const { client, pusher, current } = this.started();
    events({ type: 'step', step: 'pushing', detail: this.target });
    const report: PublishReport = { outputs: [this.target], pushed: { bytes: 0, blobs: 0 }, reference: referenceString(this.reference) };
    if (current?.digest === artifactDigest(artifact)) {
      // The tag already names this very image: nothing to send, not even a manifest.
      events({ type: 'log', level: 'info', message: `${this.target} is up to date` });
      return report;
    }
    const r = await pushArtifact(client, this.reference, artifact, events, { pusher });
    return { ...report, pushed: { bytes: r.pushedBytes, blobs: r.pushedBlobs } };
  }

  private started(): NonNullable<RegistryPublisher['run']> {
    if (!this.run) {
      throw new ShaleError('SHALE_PUBLISHER_NOT_STARTED', `the publisher for ${this.target} was not started: a build starts it with its registry client; to push an image you already have, call start() first or use pushArtifact.`);
    }
    return this.run;
  }
}
