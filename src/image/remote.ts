import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { artifactDigest, artifactImages, type Artifact } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { manifestReference, referenceString, type Reference } from '../ref/reference.js';
import type { FetchedManifest, RegistryClient } from '../registry/client.js';
import type { BlobSource } from './blob-source.js';
import { BlobPusher } from './blob-pusher.js';
import { openDescriptor } from './load.js';
import type { OpenedArtifact } from './opened.js';

/**
 * Opens the image or index a registry reference names: the top manifest (by tag or digest) and,
 * for an image, its config are fetched now; an index's images when asked for; layers only when
 * a target opens them. Layers carry the repository as their origin, so a push to the same
 * registry mounts them. `name` is how messages call it (default: the normalized reference).
 * A missing manifest is the client's `InputError('SHALE_MANIFEST_UNKNOWN')`, as it is.
 */
export async function openRemote(client: RegistryClient, ref: Reference, opts: { name?: string } = {}): Promise<OpenedArtifact> {
  const top = await client.getManifest(ref.registry, ref.repository, manifestReference(ref));
  const src = remoteSource(client, ref, opts.name ?? referenceString(ref), top);
  return openDescriptor(src, { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length });
}

/** The manifests and blobs of one repository; the top manifest, already fetched, is not asked for again. */
function remoteSource(client: RegistryClient, ref: Reference, where: string, top: FetchedManifest): BlobSource {
  const { registry, repository } = ref;
  return {
    where,
    manifest: async (d) => (d.digest === top.digest ? top.bytes : (await client.getManifest(registry, repository, d.digest)).bytes),
    bytes: (d) => client.getBlobBytes(registry, repository, d.digest),
    open: (d) => client.getBlob(registry, repository, d.digest, d.size),
    origin: { registry, repository },
  };
}

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
  client: RegistryClient,
  target: Reference,
  artifact: Artifact,
  events: Events = noEvents,
  options: PushOptions = {},
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
 * Waits for every promise, then throws the first real failure (none is left unobserved): a blob
 * that was not sent because an earlier one failed says nothing about why, so it is not reported.
 */
async function settleAll(ps: readonly Promise<void>[]): Promise<void> {
  const failures = (await Promise.allSettled(ps)).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const aborted = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'SHALE_PUSH_ABORTED';
  const first = failures.find((e) => !aborted(e)) ?? failures[0];
  if (first !== undefined) throw first;
}
