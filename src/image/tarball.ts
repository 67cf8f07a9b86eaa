import { InputError, ShaleError, wrap } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { Annotation } from '../oci/annotations.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { digestHex } from '../oci/digest.js';
import { artifactDescriptor, imagePlatform, type Artifact, type Image } from '../oci/image.js';
import { parseIndex } from '../oci/parse.js';
import { MediaType, platformMatches, platformString, type Descriptor, type Digest, type Platform } from '../oci/types.js';
import { artifactBlobs } from './artifact-blobs.js';
import { readAll } from './blob-source.js';
import { dockerArchiveImage } from './docker-archive.js';
import { dockerName, hostPlatform, tagOf } from './docker-names.js';
import { openDescriptor } from './load.js';
import { loadArtifact, openedOf, type OpenedArtifact } from './opened.js';
import { selectEntry } from './select-entry.js';
import { addBytes, addDir, addStream, writeTarAtomic } from './tar-pack.js';
import { openTarFile, scanTar, tarBlobSource } from './tar-read.js';

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
  const dockerManifest = [
    { Config: blobPath(image.manifest.config.digest), RepoTags: opts.repoTags, Layers: image.layers.map((l) => blobPath(l.descriptor.digest)) },
  ];

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
 * Opens the image a tarball holds: through its OCI index.json when it has a usable one, else
 * through Docker's manifest.json (older `docker save` output). `ref` picks an image by tag or
 * name when the archive holds several. Manifests and configs are read now (an index that names
 * blobs the archive lacks falls back to manifest.json); layers stay in the archive until opened.
 */
export async function openTarball(file: string, ref?: string): Promise<OpenedArtifact> {
  return openedOf(await readTarball(file, ref));
}

/** Reads an image or index back from a tarball, every image of an index included; see {@link openTarball}. */
export async function readTarball(file: string, ref?: string): Promise<Artifact> {
  const files = await scanTar(file);
  const where = `tarball ${file}`;
  const index = files.get('index.json');
  const manifest = files.get('manifest.json');
  if (index) {
    try {
      const parsed = parseIndex(index.bytes ?? (await readAll(openTarFile(file, index))), `index.json in ${file}`);
      return await loadArtifact(await openDescriptor(tarBlobSource(file, files), selectEntry(parsed.manifests, ref, where)));
    } catch (err) {
      // Docker saves an index whose other platforms' blobs it left out; manifest.json still works.
      if (!manifest || !(err instanceof ShaleError) || err.exitCode === 2) throw err;
    }
  }
  if (!manifest)
    throw new InputError('SHALE_NOT_AN_IMAGE_TAR', `${file} is neither a docker-archive nor an OCI archive (it has no manifest.json or index.json).`);
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
      throw new InputError(
        'SHALE_NO_SUCH_PLATFORM',
        `the image has no ${platformString(platform)} variant (it has ${have}); pick one of those for the tarball.`,
      );
    }
    return hit;
  }
  const first = images[0];
  if (!first) throw new ShaleError('SHALE_EMPTY_INDEX', 'the image index has no images to write to a tarball.');
  return match(hostPlatform()) ?? first;
}

/** index.json: the top descriptor once per tag, named as Docker names them. */
function ociIndex(artifact: Artifact, repoTags: readonly string[]): object {
  const top: Descriptor = artifactDescriptor(artifact);
  const manifests =
    repoTags.length === 0
      ? [top]
      : repoTags.map((t) => ({ ...top, annotations: { [Annotation.ContainerdImageName]: dockerName(t), [Annotation.RefName]: tagOf(t) } }));
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
}
