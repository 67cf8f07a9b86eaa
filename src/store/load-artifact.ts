import { wrap } from '../errors.js';
import type { Artifact, Image, Index } from '../oci/image.js';
import { isIndexMediaType, isManifestMediaType, type Descriptor } from '../oci/types.js';
import type { BlobSource } from './blob-source.js';
import { OciParseError, parseConfig, parseIndex, parseManifest } from './oci-parse.js';
import { blobLayer } from './stored-layer.js';

/**
 * Loads the Image or Index that `desc` points at from a BlobSource: manifests and configs are
 * read (and verified) now, layers stay lazy and are opened from the source only when needed.
 * Layers read back this way are `source: 'base'`, named by their `dev.shale.layer.name`.
 */
export async function loadArtifact(src: BlobSource, desc: Descriptor): Promise<Artifact> {
  if (isIndexMediaType(desc.mediaType)) return { kind: 'index', index: await loadIndex(src, desc) };
  if (isManifestMediaType(desc.mediaType)) return { kind: 'image', image: await loadImage(src, desc) };
  throw new OciParseError(`${desc.digest} in ${src.where} has media type "${desc.mediaType}", which is neither an image manifest nor an index.`);
}

/** Loads an image manifest, its config and its (lazy) layers. */
export async function loadImage(src: BlobSource, desc: Descriptor): Promise<Image> {
  const what = `manifest ${desc.digest} in ${src.where}`;
  const manifestBytes = await readBlob(src, desc, what);
  const manifest = parseManifest(manifestBytes, what);
  const configWhat = `config ${manifest.config.digest} in ${src.where}`;
  const configBytes = await readBlob(src, manifest.config, configWhat);
  const config = parseConfig(configBytes, configWhat);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new OciParseError(`${what} lists ${manifest.layers.length} layers but its config has ${diffIds.length} diff_ids.`);
  }
  const layers = manifest.layers.map((l, i) => blobLayer(l, diffIds[i] ?? l.digest, 'base', () => src.open(l.digest)));
  return { manifest, manifestBytes, digest: desc.digest, config, configBytes, layers };
}

/**
 * Loads an index and every image in it. Entries that are not runnable images (build
 * attestations, platform "unknown") are left out, as `docker pull` does.
 */
export async function loadIndex(src: BlobSource, desc: Descriptor): Promise<Index> {
  const what = `index ${desc.digest} in ${src.where}`;
  const indexBytes = await readBlob(src, desc, what);
  const index = parseIndex(indexBytes, what);
  const images: Image[] = [];
  for (const child of index.manifests) {
    if (child.platform?.os === 'unknown') continue;
    if (!isManifestMediaType(child.mediaType)) {
      throw new OciParseError(`${what} holds ${child.digest} of media type "${child.mediaType}"; shale reads indexes of image manifests only.`);
    }
    images.push(await loadImage(src, child));
  }
  return { index, indexBytes, digest: desc.digest, images };
}

async function readBlob(src: BlobSource, desc: Descriptor, what: string): Promise<Buffer> {
  try {
    const bytes = await src.readBytes(desc.digest);
    if (bytes.length !== desc.size) throw new OciParseError(`it has ${bytes.length} bytes where its descriptor says ${desc.size}`);
    return bytes;
  } catch (err) {
    throw wrap(`reading ${what}`, err);
  }
}
