import { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { artifactDigest, artifactImages, type Artifact, type Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient, UploadSession } from '../registry/client.js';
import { limiter } from '../limit.js';

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

const PROGRESS_STEP = 1 << 20;

/**
 * Sends blobs to one repository, each at most once however often it is asked for, a few at a
 * time: HEAD (unless known present), else a cross-repository mount from the layer's origin on
 * the same registry, else an upload. A build hands it each layer as soon as the layer exists, so
 * uploads overlap the building of the rest; `pushArtifact` then waits for them all.
 */
export class BlobPusher {
  readonly result = { pushedBytes: 0, pushedBlobs: 0 };
  private readonly sent = new Map<Digest, Promise<void>>();
  private readonly run: <T>(task: () => Promise<T>) => Promise<T>;
  private failed = false;

  constructor(
    private readonly client: RegistryClient,
    private readonly target: Reference,
    private readonly events: Events = noEvents,
    private readonly present: ReadonlySet<Digest> = new Set(),
    concurrency = 4,
  ) {
    this.run = limiter(concurrency);
  }

  /** Makes sure the repository has this layer's blob. */
  layer(layer: Layer): Promise<void> {
    const { digest: d, size } = layer.descriptor;
    return this.once(d, async () => {
      const { registry, repository } = this.target;
      if (this.present.has(d) || (await this.client.hasBlob(registry, repository, d))) {
        this.events({ type: 'upload', digest: d, name: layer.name, status: 'exists', total: size });
        return;
      }
      const origin = layer.origin;
      let session: UploadSession | undefined;
      if (origin && origin.registry === registry && origin.repository !== repository) {
        const mount = await this.client.mountBlob(registry, repository, d, origin.repository);
        if (mount.mounted) {
          this.events({ type: 'upload', digest: d, name: layer.name, status: 'mounted', total: size });
          return;
        }
        // A refused mount may have opened an upload session (202): upload into it.
        session = mount.session;
      }
      await upload(this.client, this.target, d, size, () => layer.open(), layer.name, this.events, this.result, session);
    });
  }

  /** Makes sure the repository has a small blob held in memory (an image config). */
  bytes(d: Digest, bytes: Buffer, name: string): Promise<void> {
    return this.once(d, async () => {
      if (this.present.has(d) || (await this.client.hasBlob(this.target.registry, this.target.repository, d))) {
        this.events({ type: 'upload', digest: d, name, status: 'exists', total: bytes.length });
      } else {
        await upload(this.client, this.target, d, bytes.length, async () => Readable.from([bytes]), name, this.events, this.result);
      }
    });
  }

  /** Runs a blob's work once; after a failure no new blob starts (running ones settle). */
  private once(d: Digest, work: () => Promise<void>): Promise<void> {
    let p = this.sent.get(d);
    if (!p) {
      p = this.run(async () => {
        if (this.failed) throw new ShaleError('SHALE_PUSH_ABORTED', `not sending ${d}: an earlier blob of this push failed`);
        try {
          await work();
        } catch (err) {
          this.failed = true;
          throw err;
        }
      });
      this.sent.set(d, p);
    }
    return p;
  }
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
  // Configs after the layers they describe, as go-containerregistry does (STYLE.md).
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

/** Waits for every promise, then throws the first failure (none is left unobserved). */
async function settleAll(ps: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function upload(
  client: RegistryClient, target: Reference, digest: Digest, size: number, open: () => Promise<Readable>,
  name: string, events: Events, result: { pushedBytes: number; pushedBlobs: number }, session?: UploadSession,
): Promise<void> {
  events({ type: 'upload', digest, name, status: 'start', total: size });
  let reported = 0;
  const sent = await client.uploadBlob(target.registry, target.repository, digest, size, open, {
    ...(session ? { session } : {}),
    onProgress: (bytes) => {
      if (bytes - reported >= PROGRESS_STEP) {
        reported = bytes;
        events({ type: 'upload', digest, name, status: 'progress', bytes, total: size });
      }
    },
  });
  result.pushedBytes += sent;
  result.pushedBlobs += 1;
  events({ type: 'upload', digest, name, status: 'done', bytes: sent, total: size });
}
