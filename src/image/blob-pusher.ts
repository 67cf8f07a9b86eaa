import { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { layerLabel } from '../oci/annotations.js';
import type { Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import type { Reference } from '../ref/reference.js';
import type { RegistryClient, UploadSession } from '../registry/client.js';
import { limiter } from '../limit.js';

const PROGRESS_STEP = 1 << 20;

/**
 * Sends blobs to one repository, each at most once however often it is asked for, a few at a
 * time: HEAD (unless known present), else a cross-repository mount from the layer's origin on
 * the same registry, else an upload. A build hands it each layer as soon as the layer exists, so
 * uploads overlap the building of the rest; `pushArtifact` (remote.ts) then waits for them all.
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
    const name = layerLabel(layer.descriptor);
    return this.once(d, async () => {
      const { registry, repository } = this.target;
      if (this.present.has(d) || (await this.client.hasBlob(registry, repository, d))) {
        this.events({ type: 'upload', digest: d, name, status: 'exists', total: size });
        return;
      }
      const origin = layer.origin;
      let session: UploadSession | undefined;
      if (origin && origin.registry === registry && origin.repository !== repository) {
        const mount = await this.client.mountBlob(registry, repository, d, origin.repository);
        if (mount.mounted) {
          this.events({ type: 'upload', digest: d, name, status: 'mounted', total: size });
          return;
        }
        // A refused mount may have opened an upload session (202): upload into it.
        session = mount.session;
      }
      await upload(this.client, this.target, d, size, () => layer.open(), name, this.events, this.result, session);
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

async function upload(
  client: RegistryClient,
  target: Reference,
  digest: Digest,
  size: number,
  open: () => Promise<Readable>,
  name: string,
  events: Events,
  result: { pushedBytes: number; pushedBlobs: number },
  session?: UploadSession,
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
