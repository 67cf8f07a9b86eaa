import { InputError, ShaleError, wrap } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { digestHex } from '../oci/digest.js';
import type { Artifact, Image } from '../oci/image.js';
import { Annotation, MediaType, platformMatches, platformString, type Descriptor, type Digest, type Platform } from '../oci/types.js';
import { artifactBlobs, imagePlatform } from '../store/artifact-blobs.js';
import { readAll } from '../store/blob-source.js';
import { dockerArchiveImage } from '../store/docker-archive.js';
import { loadArtifact } from '../store/load-artifact.js';
import { parseIndex } from '../store/oci-parse.js';
import { ContainerdImageName, selectEntry } from '../store/select-entry.js';
import { addBytes, addDir, addStream, writeTarAtomic } from '../store/tar-pack.js';
import { openTarFile, scanTar, tarBlobSource } from '../store/tar-read.js';
import { wroteTo, type PublishReport, type Publisher } from './publisher.js';

/** Options for {@link writeTarball}. */
export interface TarballOptions {
  /** Names `docker load` gives the image ("repo:tag"); may be empty. */
  repoTags: string[];
  /** For an index: the image manifest.json describes (default: the host's platform, else the first). */
  platform?: Platform;
  events?: Events;
}

/**
 * Writes a tarball that `docker load` and `podman load` accept (a docker-archive: manifest.json
 * pointing at the config and the gzip'd layers) and that is at the same time an OCI image
 * layout (oci-layout, index.json, blobs/sha256/...), as `docker save` writes since Docker 25.
 * For an index, index.json keeps every platform and manifest.json describes one. The archive
 * is written beside `file` and renamed into place, so a failure leaves nothing at `file`.
 */
export async function writeTarball(file: string, artifact: Artifact, opts: TarballOptions): Promise<void> {
  const events = opts.events ?? noEvents;
  for (const t of opts.repoTags) {
    if (t === '' || /\s/.test(t)) throw new InputError('SHALE_BAD_TAG', `"${t}" is not a usable image name for the tarball; use repo[:tag], e.g. "hello:1.0".`);
  }
  const image = chooseImage(artifact, opts.platform);
  const blobPath = (d: Digest): string => `blobs/sha256/${digestHex(d)}`;
  const dockerManifest = [{ Config: blobPath(image.manifest.config.digest), RepoTags: opts.repoTags, Layers: image.layers.map((l) => blobPath(l.descriptor.digest)) }];

  await writeTarAtomic(file, async (pack) => {
    await addBytes(pack, 'oci-layout', canonicalBytes({ imageLayoutVersion: '1.0.0' }));
    await addDir(pack, 'blobs');
    await addDir(pack, 'blobs/sha256');
    for (const b of artifactBlobs(artifact)) {
      events({ type: 'upload', digest: b.digest, name: b.name, status: 'start', total: b.size });
      try {
        await addStream(pack, blobPath(b.digest), b.size, await b.open(), b.digest);
      } catch (err) {
        throw wrap(`writing ${b.kind === 'layer' ? `layer ${b.name}` : b.kind} ${b.digest} to ${file}`, err);
      }
      events({ type: 'upload', digest: b.digest, name: b.name, status: 'done', bytes: b.size, total: b.size });
    }
    await addBytes(pack, 'index.json', canonicalBytes(ociIndex(artifact, opts.repoTags)));
    await addBytes(pack, 'manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
  });
}

/**
 * Publishes to a tarball that `docker load` and `podman load` accept (`shale build --tar FILE`);
 * see {@link writeTarball}.
 */
export class TarballPublisher implements Publisher {
  constructor(
    readonly target: string,
    private readonly options: Omit<TarballOptions, 'events'>,
  ) {}

  /** Writes the artifact to the tarball (replacing the file only once it is whole). */
  async publish(artifact: Artifact, events: Events): Promise<PublishReport> {
    events({ type: 'step', step: 'writing tarball', detail: this.target });
    await writeTarball(this.target, artifact, { ...this.options, events });
    return wroteTo(this.target);
  }
}

/**
 * Reads an image back from a tarball: through its OCI index.json when it has a usable one, else
 * through Docker's manifest.json (older `docker save` output). `ref` picks an image by tag or
 * name when the archive holds several. Layers are read lazily from the archive.
 */
export async function readTarball(file: string, ref?: string): Promise<Artifact> {
  const files = await scanTar(file);
  const where = `tarball ${file}`;
  const index = files.get('index.json');
  const manifest = files.get('manifest.json');
  if (index) {
    try {
      const parsed = parseIndex(index.bytes ?? (await readAll(openTarFile(file, index))), `index.json in ${file}`);
      return await loadArtifact(tarBlobSource(file, files), selectEntry(parsed.manifests, ref, where));
    } catch (err) {
      // Docker saves an index whose other platforms' blobs it left out; manifest.json still works.
      if (!manifest || !(err instanceof ShaleError) || err.exitCode === 2) throw err;
    }
  }
  if (!manifest) throw new InputError('SHALE_NOT_AN_IMAGE_TAR', `${file} is neither a docker-archive nor an OCI archive (it has no manifest.json or index.json).`);
  return { kind: 'image', image: await dockerArchiveImage(file, files, manifest, ref) };
}

/** Picks the image manifest.json describes; see {@link TarballOptions.platform}. */
function chooseImage(artifact: Artifact, platform: Platform | undefined): Image {
  if (artifact.kind === 'image') return artifact.image;
  const images = artifact.index.images;
  const match = (p: Platform): Image | undefined => images.find((img) => platformMatches(imagePlatform(img), p));
  if (platform) {
    const hit = match(platform);
    if (!hit) {
      const have = images.map((i) => platformString(imagePlatform(i))).join(', ');
      throw new InputError('SHALE_NO_SUCH_PLATFORM', `the image has no ${platformString(platform)} variant (it has ${have}); pick one of those for the tarball.`);
    }
    return hit;
  }
  const first = images[0];
  if (!first) throw new ShaleError('SHALE_EMPTY_INDEX', 'the image index has no images to write to a tarball.');
  return match(hostPlatform()) ?? first;
}

/** index.json: the top descriptor once per tag, named as Docker names them. */
function ociIndex(artifact: Artifact, repoTags: readonly string[]): object {
  const top: Descriptor =
    artifact.kind === 'image'
      ? { mediaType: artifact.image.manifest.mediaType, digest: artifact.image.digest, size: artifact.image.manifestBytes.length, platform: imagePlatform(artifact.image) }
      : { mediaType: artifact.index.index.mediaType, digest: artifact.index.digest, size: artifact.index.indexBytes.length };
  const manifests = repoTags.length === 0 ? [top] : repoTags.map((t) => ({ ...top, annotations: { [ContainerdImageName]: dockerName(t), [Annotation.RefName]: tagOf(t) } }));
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
}

/** The tag part of "host:5000/repo:tag" ("latest" when there is none). */
function tagOf(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(colon + 1) : 'latest';
}

/** Docker's full name for a familiar one: "hello:1" → "docker.io/library/hello:1" (containerd keys images by it). */
function dockerName(ref: string): string {
  const withTag = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref : `${ref}:latest`;
  const first = withTag.split('/')[0] ?? '';
  const hasHost = withTag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost) return withTag;
  return withTag.includes('/') ? `docker.io/${withTag}` : `docker.io/library/${withTag}`;
}

/** The host's platform in OCI terms; images are Linux even where Docker runs in a VM. */
function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}
