import { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { artifactDigest, artifactImages, type Artifact, type Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient, UploadSession } from '../registry/client.js';

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
}

const PROGRESS_STEP = 1 << 20;

/**
 * Pushes an image or index to a registry (SPEC.md: "a failed push never moves a tag"). Order:
 * layer blobs (HEAD, else cross-repo mount from the layer's origin on the same registry, else
 * upload), then configs, then per-platform manifests by digest, then the top manifest to the tag.
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
  const result: PushResult = { digest, pushedBytes: 0, pushedBlobs: 0 };

  const layers = new Map<Digest, Layer>();
  for (const image of images) for (const l of image.layers) if (!layers.has(l.descriptor.digest)) layers.set(l.descriptor.digest, l);
  const present = options.present ?? new Set<Digest>();
  await forEachLimited([...layers.values()], options.concurrency ?? 4, async (layer) => {
    const { digest: d, size } = layer.descriptor;
    if (present.has(d) || (await client.hasBlob(registry, repository, d))) {
      events({ type: 'upload', digest: d, name: layer.name, status: 'exists', total: size });
      return;
    }
    const origin = layer.origin;
    let session: UploadSession | undefined;
    if (origin && origin.registry === registry && origin.repository !== repository) {
      const mount = await client.mountBlob(registry, repository, d, origin.repository);
      if (mount.mounted) {
        events({ type: 'upload', digest: d, name: layer.name, status: 'mounted', total: size });
        return;
      }
      // A refused mount may have opened an upload session (202): upload into it.
      session = mount.session;
    }
    await upload(client, target, d, size, () => layer.open(), layer.name, events, result, session);
  });

  // Configs after the layers they describe, as go-containerregistry does (STYLE.md).
  const configs = new Map<Digest, Buffer>();
  for (const image of images) configs.set(image.manifest.config.digest, image.configBytes);
  for (const [d, bytes] of configs) {
    if (present.has(d) || (await client.hasBlob(registry, repository, d))) {
      events({ type: 'upload', digest: d, name: 'config', status: 'exists', total: bytes.length });
    } else {
      await upload(client, target, d, bytes.length, async () => Readable.from([bytes]), 'config', events, result);
    }
  }

  if (artifact.kind === 'index') {
    for (const image of images) {
      await client.putManifest(registry, repository, image.digest, image.manifestBytes, image.manifest.mediaType);
    }
    await client.putManifest(registry, repository, target.tag ?? digest, artifact.index.indexBytes, artifact.index.index.mediaType);
  } else {
    const { image } = artifact;
    await client.putManifest(registry, repository, target.tag ?? digest, image.manifestBytes, image.manifest.mediaType);
  }
  return result;
}

async function upload(
  client: RegistryClient, target: Reference, digest: Digest, size: number, open: () => Promise<Readable>,
  name: string, events: Events, result: PushResult, session?: UploadSession,
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

/**
 * Runs `fn` over items with at most `limit` at once. On the first failure no new work starts;
 * the running ones settle, then the first error is thrown.
 */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
}
