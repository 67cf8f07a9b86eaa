import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { artifactDigest, artifactImages, type Artifact, type Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { BlobPusher } from './blob-pusher.js';
import type { PublishReport, PublishSession, Publisher, TargetImage } from './publisher.js';

/** What a push did: the digest it published and the bytes and blobs it actually sent. */
export interface PushResult {
  digest: Digest;
  pushedBytes: number;
  pushedBlobs: number;
}

/** Options for pushArtifact. */
export interface PushOptions {
  /** Blob uploads at once; default 4. */
  concurrency?: number;
  /**
   * Blobs known to be in the target repository already (those of the image the tag names now):
   * a registry keeps every blob a manifest references, so they need no HEAD.
   */
  present?: ReadonlySet<Digest>;
  /** A pusher that may already be sending this artifact's layers (for the same target). */
  pusher?: BlobPusher;
}

/**
 * Pushes an image or index to a registry (README: "a failed push never moves a tag"). Order:
 * layer blobs, then configs, then per-platform manifests by digest, then the top manifest to the
 * tag. `pusher` may already be sending the layers (started while the build made them).
 */
export async function pushArtifact(
  client: RegistryClient, target: Reference, artifact: Artifact, events: Events = noEvents, options: PushOptions = {},
): Promise<PushResult> {
  const digest = artifactDigest(artifact);
  if (target.digest !== undefined && target.digest !== digest) {
    throw new ShaleError('SHALE_PUSH_DIGEST', `cannot push to ${referenceString(target)}: the image's digest is ${digest}`);
  }
  const { registry, repository } = target;
  const images = artifactImages(artifact);
  const pusher = options.pusher ?? new BlobPusher(client, target, events, options.present, options.concurrency);
  await settleAll(images.flatMap((image) => image.layers.map((l) => pusher.layer(l))));
  // Configs after the layers they describe, as go-containerregistry does.
  await settleAll(images.map((image) => pusher.bytes(image.manifest.config.digest, image.configBytes, 'config')));

  if (artifact.kind === 'index') {
    for (const image of images) {
      await client.putManifest(registry, repository, image.digest, image.manifestBytes, image.manifest.mediaType);
    }
    await client.putManifest(registry, repository, target.tag ?? digest, artifact.index.indexBytes, artifact.index.index.mediaType);
  } else {
    const { image } = artifact;
    await client.putManifest(registry, repository, target.tag ?? digest, image.manifestBytes, image.manifest.mediaType);
  }
  return { digest, ...pusher.result };
}

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

/** Waits for every promise, then throws the first failure (none is left unobserved). */
async function settleAll(ps: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
