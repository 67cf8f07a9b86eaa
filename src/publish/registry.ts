import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import { BlobPusher } from '../image/blob-pusher.js';
import { pushArtifact } from '../image/remote.js';
import { artifactDigest, type Artifact, type Layer } from '../oci/image.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { InterruptedError } from '../registry/errors.js';
import { defaultLayerCache, updateLayerCache } from './layer-cache.js';
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
 * After a push, its layers are recorded in the layer cache (`layerCache`, default `REPO:shale-cache`,
 * src/publish/layer-cache.ts), so a push under any other tag reuses them; a cache that cannot be
 * read or written is a warning, never a failed push (the image is published by then).
 */
export class RegistryPublisher implements Publisher {
  readonly target: string;
  readonly previous: readonly Reference[];
  readonly layerCaches: readonly Reference[];
  private run: { client: RegistryClient; pusher: BlobPusher; current: TargetImage | undefined } | undefined;

  /**
   * `name` is how outputs and messages name the target (default: the normalized reference);
   * `layerCache` where its layers are recorded (default `REPO:shale-cache`; false: nowhere).
   */
  constructor(
    private readonly reference: Reference,
    options: { name?: string; layerCache?: Reference | false } = {},
  ) {
    this.target = options.name ?? referenceString(reference);
    this.previous = [reference];
    const cache = options.layerCache ?? defaultLayerCache(reference);
    this.layerCaches = cache ? [cache] : [];
  }

  /** Begins a run: a fresh pusher over the build's client, told which blobs the tag's image has. */
  start(session: PublishSession): void {
    const current = session.current(this.reference);
    const present = new Set([...(current?.blobs ?? []), ...(session.held?.(this.reference) ?? [])]);
    this.run = { client: session.client, current, pusher: new BlobPusher(session.client, this.reference, session.events, present) };
  }

  /** Starts sending the layer's blob now; a failure is kept for `publish` to report. */
  layer(layer: Layer): void {
    void this.started()
      .pusher.layer(layer)
      .catch(() => undefined);
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
    await this.recordLayers(client, artifact, events);
    return { ...report, pushed: { bytes: r.pushedBytes, blobs: r.pushedBlobs } };
  }

  /** After the push: its layers merged into the layer caches; any failure is a warning. */
  private async recordLayers(client: RegistryClient, artifact: Artifact, events: Events): Promise<void> {
    for (const cache of this.layerCaches) {
      const name = referenceString(cache);
      try {
        const done = await updateLayerCache(client, cache, this.reference, artifact, { events });
        if (done === 'foreign') {
          const message = `${name} holds something that is not shale's layer cache; left as it is, so this push's layers are not recorded there`;
          events({ type: 'log', level: 'warn', message: `${message} (set registry-cache to another tag, or "off")` });
        }
      } catch (err) {
        if (err instanceof InterruptedError) throw err;
        const why = err instanceof Error ? err.message : String(err);
        const message = `the image was pushed, but its layers could not be recorded in the layer cache ${name}`;
        events({ type: 'log', level: 'warn', message: `${message} (a later build under another tag may rebuild them): ${why}` });
      }
    }
  }

  private started(): NonNullable<RegistryPublisher['run']> {
    if (!this.run) {
      throw new ShaleError(
        'SHALE_PUBLISHER_NOT_STARTED',
        `the publisher for ${this.target} was not started: a build starts it with its registry client; to push an image you already have, call start() first or use pushArtifact.`,
      );
    }
    return this.run;
  }
}
