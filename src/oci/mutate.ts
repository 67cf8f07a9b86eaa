import { ShaleError } from '../errors.js';
import { canonicalBytes } from './canonical-json.js';
import { sha256 } from './digest.js';
import { imagePlatform, withDescriptor, type Image, type Index, type Layer } from './image.js';
import { MediaType, type Descriptor, type HistoryEntry, type ImageConfig, type ImageIndex, type Manifest } from './types.js';

/**
 * Pure changes to images, each giving a new immutable Image with its bytes and digest made
 * again (configs and manifests are a few kB). What comes out is always OCI: an OCI manifest
 * and config media type, Docker's gzip layer media type as OCI's (the same bytes), canonical
 * JSON, so the same parts always give the same digest.
 */

/** A layer to put on top of an image, with the history entry that says what made it. */
export interface Addendum {
  layer: Layer;
  history: HistoryEntry;
}

/** Docker's gzip layer media type becomes OCI's; the blob is the same. */
function ociLayer(layer: Layer): Layer {
  if (layer.descriptor.mediaType !== MediaType.DockerLayerGzip) return layer;
  const descriptor: Descriptor = { ...layer.descriptor, mediaType: MediaType.OciLayerGzip };
  return withDescriptor(layer, descriptor);
}

/**
 * An OCI image of a config and its layers; the manifest carries `annotations` when given. The
 * config's diff_ids must be the layers' (a mismatch is a bug in the caller, not bad input).
 */
export function ociImage(config: ImageConfig, layers: readonly Layer[], annotations?: Record<string, string>): Image {
  const ids = config.rootfs.diff_ids;
  if (ids.length !== layers.length || layers.some((l, i) => l.diffId !== ids[i])) {
    throw new ShaleError(
      'SHALE_IMAGE_INCONSISTENT',
      `an image config lists ${ids.length} diff_ids that are not those of its ${layers.length} layers; this is a bug in shale, please report it`,
    );
  }
  const configBytes = canonicalBytes(config);
  const oci = layers.map(ociLayer);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: oci.map((l) => l.descriptor),
    ...(annotations === undefined ? {} : { annotations }),
  };
  const manifestBytes = canonicalBytes(manifest);
  return { manifest, manifestBytes, digest: sha256(manifestBytes), config, configBytes, layers: oci };
}

/** The image with `config` as its config (same layers, same manifest annotations). */
export function setConfig(img: Image, config: ImageConfig): Image {
  return ociImage(config, img.layers, img.manifest.annotations);
}

/**
 * The image with layers on top: each one's diff_id goes to rootfs and its history entry to the
 * config's history (which a layer-less image gets, empty, too).
 */
export function appendLayers(img: Image, adds: readonly Addendum[]): Image {
  const config: ImageConfig = {
    ...img.config,
    rootfs: { type: 'layers', diff_ids: [...img.config.rootfs.diff_ids, ...adds.map((a) => a.layer.diffId)] },
    history: [...(img.config.history ?? []), ...adds.map((a) => a.history)],
  };
  return ociImage(config, [...img.layers, ...adds.map((a) => a.layer)], img.manifest.annotations);
}

/** The image with `annotations` added to its manifest's (a key given again is replaced). */
export function annotate(img: Image, annotations: Record<string, string>): Image {
  return ociImage(img.config, img.layers, { ...img.manifest.annotations, ...annotations });
}

/** An OCI index over images, one entry per image with the platform its config names. */
export function ociIndex(images: readonly Image[], annotations?: Record<string, string>): Index {
  const manifests: Descriptor[] = images.map((img) => ({
    mediaType: img.manifest.mediaType,
    digest: img.digest,
    size: img.manifestBytes.length,
    platform: imagePlatform(img),
  }));
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests, ...(annotations === undefined ? {} : { annotations }) };
  const indexBytes = canonicalBytes(index);
  return { index, indexBytes, digest: sha256(indexBytes), images };
}
