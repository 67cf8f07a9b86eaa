import type { Readable } from 'node:stream';
import type { Descriptor, Digest, ImageConfig, ImageIndex, Manifest, Platform } from './types.js';

/**
 * One layer of an image, as the image-spec knows it: a blob and the digest of its uncompressed
 * tar. Its bytes are lazy: `open()` is only called by a target that actually needs them (a
 * registry that lacks the blob, an OCI layout, a tarball). Where a layer came from in a build
 * (built, cached, reused) is the build's business, reported in its `LayerReport`s.
 */
export interface Layer {
  /** The compressed blob's descriptor, with shale's annotations for shale-made layers. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar (rootfs.diff_ids). */
  readonly diffId: Digest;
  /** Opens the compressed bytes. */
  open(): Promise<Readable>;
  /** A repository known to hold the blob, so a push to its registry can mount it instead of uploading. */
  readonly origin?: BlobOrigin;
}

/** A registry repository that is known to hold a blob. */
export interface BlobOrigin {
  registry: string;
  repository: string;
}

/** A Layer over a blob that opens with `open`; `origin` when a registry repository holds it. */
export function lazyLayer(descriptor: Descriptor, diffId: Digest, open: () => Promise<Readable>, origin?: BlobOrigin): Layer {
  return origin ? { descriptor, diffId, open, origin } : { descriptor, diffId, open };
}

/** The same layer under another descriptor (same blob; annotations or media type differ). */
export function withDescriptor(layer: Layer, descriptor: Descriptor): Layer {
  return lazyLayer(descriptor, layer.diffId, () => layer.open(), layer.origin);
}

/** An image: manifest, config and layers, as immutable values; the bytes are what its digests name. */
export interface Image {
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  readonly digest: Digest;
  readonly config: ImageConfig;
  readonly configBytes: Buffer;
  readonly layers: readonly Layer[];
}

/** An image index with one image per platform. */
export interface Index {
  readonly index: ImageIndex;
  readonly indexBytes: Buffer;
  readonly digest: Digest;
  readonly images: readonly Image[];
}

/** A whole image or index: what a build produces and a publisher writes. */
export type Artifact = { kind: 'image'; image: Image } | { kind: 'index'; index: Index };

/** The digest a reference to the artifact names: the manifest's, or the index's. */
export const artifactDigest = (a: Artifact): Digest => (a.kind === 'image' ? a.image.digest : a.index.digest);

/** The artifact's images: the one, or every image of the index. */
export const artifactImages = (a: Artifact): readonly Image[] => (a.kind === 'image' ? [a.image] : a.index.images);

/** The platform an image runs on, from its config. */
export function imagePlatform(img: Image): Platform {
  const { os, architecture, variant } = img.config;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** The descriptor that points at an artifact (with the image's platform), as an index entry names it. */
export function artifactDescriptor(a: Artifact): Descriptor {
  return a.kind === 'image'
    ? { mediaType: a.image.manifest.mediaType, digest: a.image.digest, size: a.image.manifestBytes.length, platform: imagePlatform(a.image) }
    : { mediaType: a.index.index.mediaType, digest: a.index.digest, size: a.index.indexBytes.length };
}
