import { wrap } from '../errors.js';
import { lazyLayer, type Image } from '../oci/image.js';
import { OciParseError, parseConfig, parseIndex, parseManifest } from '../oci/parse.js';
import { isIndexMediaType, isManifestMediaType, type Descriptor } from '../oci/types.js';
import type { BlobSource } from './blob-source.js';
import type { OpenedArtifact, OpenedIndex } from './opened.js';

/**
 * Opens what `desc` points at in a source: an image's manifest and config are read (and
 * checked) now, an index's images only when asked for, and layers only when a target opens them.
 */
export async function openDescriptor(src: BlobSource, desc: Descriptor): Promise<OpenedArtifact> {
  if (isIndexMediaType(desc.mediaType)) return { kind: 'index', index: await openIndex(src, desc) };
  if (isManifestMediaType(desc.mediaType)) return { kind: 'image', image: await loadImage(src, desc) };
  throw new OciParseError(`${desc.digest} in ${src.where} has media type "${desc.mediaType}", which is neither an image manifest nor an index.`);
}

/**
 * Reads an image manifest and its config; the layers are lazy, open from the source, and carry
 * its origin (a registry repository) so a push to that registry can mount them.
 */
export async function loadImage(src: BlobSource, desc: Descriptor): Promise<Image> {
  const what = `manifest ${desc.digest} in ${src.where}`;
  const manifestBytes = await read(() => src.manifest(desc), desc, what);
  const manifest = parseManifest(manifestBytes, what);
  const configWhat = `config ${manifest.config.digest} in ${src.where}`;
  const configBytes = await read(() => src.bytes(manifest.config), manifest.config, configWhat);
  const config = parseConfig(configBytes, configWhat);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new OciParseError(`${what} lists ${manifest.layers.length} layers but its config has ${diffIds.length} diff_ids; the image is damaged.`);
  }
  const layers = manifest.layers.map((d, i) => lazyLayer(d, diffIds[i]!, () => src.open(d), src.origin));
  return { manifest, manifestBytes, digest: desc.digest, config, configBytes, layers };
}

async function openIndex(src: BlobSource, desc: Descriptor): Promise<OpenedIndex> {
  const what = `index ${desc.digest} in ${src.where}`;
  const indexBytes = await read(() => src.manifest(desc), desc, what);
  const index = parseIndex(indexBytes, what);
  return {
    index,
    indexBytes,
    digest: desc.digest,
    image: (entry) => {
      if (!isManifestMediaType(entry.mediaType)) {
        return Promise.reject(
          new OciParseError(`${what} holds ${entry.digest} of media type "${entry.mediaType}"; shale reads indexes of image manifests only.`),
        );
      }
      return loadImage(src, entry);
    },
  };
}

/** Reads a manifest, index or config whole, checking its size; failures name what was read. */
async function read(get: () => Promise<Buffer>, desc: Descriptor, what: string): Promise<Buffer> {
  try {
    const bytes = await get();
    if (bytes.length !== desc.size) throw new OciParseError(`it has ${bytes.length} bytes where its descriptor says ${desc.size}`);
    return bytes;
  } catch (err) {
    throw wrap(`reading ${what}`, err);
  }
}
