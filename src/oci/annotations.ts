import type { Descriptor } from './types.js';

/**
 * Every annotation key shale writes or reads, in one place (README, "Image contents"). shale's
 * own keys live under `dev.shale.`; the others are the OCI image-spec's and containerd's.
 */
export const Annotation = {
  /** On a layer descriptor: the name of the layer shale made ("packages", "app"). */
  LayerName: 'dev.shale.layer.name',
  /** On a layer descriptor: the fingerprint of the layer's inputs, so a later build can reuse it. */
  LayerInputs: 'dev.shale.layer.inputs',
  /** On a manifest: the base's C library ("glibc 2.36"), so a later build need not read base layers. */
  BaseLibc: 'dev.shale.base.libc',
  /** On a manifest: the base's Python and its install layout ("3.11 debian", "3.12 official"), read back like BaseLibc. */
  BasePython: 'dev.shale.base.python',
  /**
   * On a manifest: JSON, what the `users` layer read of the base (its /etc/passwd, /etc/group and,
   * when they hold no password hash, /etc/shadow and /etc/gshadow; the directories on the way),
   * read back like BaseLibc so a fresh runner plans the layer without reading base layers.
   */
  BaseUsers: 'dev.shale.base.users',
  /** On a manifest: every Python package in the image, `name==version`, sorted, space-separated. */
  PythonPackages: 'dev.shale.python.packages',
  /** On a layer of the repository's layer cache manifest (src/publish/layer-cache.ts): the layer's diff ID. */
  CacheDiffId: 'dev.shale.cache.diff-id',
  /** On a layer of the layer cache manifest: the reference of the image it was pushed with (for --explain). */
  CacheImage: 'dev.shale.cache.image',
  /** On the layer cache manifest: JSON, base manifest digest → its `dev.shale.base.*` facts, newest first. */
  CacheBases: 'dev.shale.cache.bases',
  /** On a manifest or index: when it was made (from SOURCE_DATE_EPOCH). */
  Created: 'org.opencontainers.image.created',
  /** On a manifest: the base image as the user named it (normalized). */
  BaseName: 'org.opencontainers.image.base.name',
  /** On a manifest: the digest of the base's manifest for this platform. */
  BaseDigest: 'org.opencontainers.image.base.digest',
  /** On an index.json entry of a layout: the image's tag. */
  RefName: 'org.opencontainers.image.ref.name',
  /** On an index.json entry: the image's full name, as containerd and Docker write it. */
  ContainerdImageName: 'io.containerd.image.name',
} as const;

/** Prefix of the manifest annotations that record facts about the base (`BaseLibc`, `BasePython`). */
export const BASE_FACT_PREFIX = 'dev.shale.base.';

/** The name shale gave a layer, or undefined for a layer shale did not make. */
export const shaleLayerName = (d: Descriptor): string | undefined => d.annotations?.[Annotation.LayerName];

/**
 * How messages, progress and `shale history` name a layer: shale's name for it, else "base" (a
 * layer without one came with the base image).
 */
export const layerLabel = (d: Descriptor): string => shaleLayerName(d) ?? 'base';
