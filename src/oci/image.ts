import type { Readable } from 'node:stream';
import type { Descriptor, Digest, ImageConfig, ImageIndex, Manifest } from './types.js';

/** Where a layer's bytes came from in this build (reported by `--json` and `--explain`). */
export type LayerSource = 'built' | 'cache' | 'registry' | 'base';

/**
 * One layer of an image. Its bytes are lazy: `open()` is only called by a target that actually
 * needs them (a registry that lacks the blob, an OCI layout, a tarball).
 */
export interface Layer {
  /** The compressed blob's descriptor, with shale's annotations for shale-made layers. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar (rootfs.diff_ids). */
  readonly diffId: Digest;
  readonly source: LayerSource;
  /** The layer name (`dev.shale.layer.name`), or "base" for base layers. */
  readonly name: string;
  /** Opens the compressed bytes. */
  open(): Promise<Readable>;
  /** Where the blob already lives, so a push can mount it instead of uploading (base layers). */
  readonly origin?: BlobOrigin;
}

/** A registry repository that is known to hold a blob. */
export interface BlobOrigin {
  registry: string;
  repository: string;
}

/** An image: manifest, config and layers, as immutable values. */
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

/** What a build produces: one image, or an index when there are several platforms. */
export type Artifact = { kind: 'image'; image: Image } | { kind: 'index'; index: Index };

export const artifactDigest = (a: Artifact): Digest => (a.kind === 'image' ? a.image.digest : a.index.digest);
export const artifactImages = (a: Artifact): readonly Image[] => (a.kind === 'image' ? [a.image] : a.index.images);
