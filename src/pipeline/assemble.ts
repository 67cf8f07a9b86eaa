import { canonicalBytes } from '../oci/canonical-json.js';
import { sha256 } from '../oci/digest.js';
import type { Image, Index, Layer } from '../oci/image.js';
import { Annotation, MediaType, type Descriptor, type HistoryEntry, type ImageConfig, type Manifest, type Platform, type ImageIndex } from '../oci/types.js';
import type { BuildSpec } from '../config/spec.js';
import { BASE_LIBC_ANNOTATION } from './base-libc.js';

/** The base image of one platform, as resolved from its registry (layers not downloaded). */
export interface BaseImage {
  /** Normalized reference the user asked for, e.g. docker.io/library/python:3.11-slim. */
  name: string;
  /** Digest of the platform's manifest. */
  digest: string;
  config: ImageConfig;
  layers: Layer[];
  /** Its C library ("glibc 2.36"), recorded as `dev.shale.base.libc` so later builds need not read the layers. */
  libc?: string;
}

/** A shale-made layer with the history line that describes it. */
export interface AppLayer {
  layer: Layer;
  createdBy: string;
}

/** `created` for configs and annotations: SOURCE_DATE_EPOCH, default 0, so builds are reproducible. */
export const createdTime = (epoch: number): string => new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

/** Docker media types of base layers become their OCI equivalents (same bytes). */
function ociLayerDescriptor(d: Descriptor): Descriptor {
  const mediaType = d.mediaType === MediaType.DockerLayerGzip ? MediaType.OciLayerGzip : d.mediaType;
  return { ...d, mediaType };
}

function mergeEnv(base: readonly string[], extra: Record<string, string>): string[] {
  const out = base.filter((kv) => !(kv.split('=', 1)[0]! in extra));
  for (const [k, v] of Object.entries(extra)) out.push(`${k}=${v}`);
  return out;
}

/**
 * Builds the image config of one platform: the base config with the app's settings on top,
 * the new layers' diff_ids, and a history entry naming each layer (so `docker history` shows it).
 */
export function imageConfig(spec: BuildSpec, base: BaseImage, layers: readonly AppLayer[], platform: Platform, epoch: number): ImageConfig {
  const created = createdTime(epoch);
  const bc = base.config.config ?? {};
  const entrypoint = spec.entrypoint.length ? spec.entrypoint : bc.Entrypoint ?? null;
  // As with Dockerfile ENTRYPOINT: a new entrypoint drops the base's CMD unless cmd is given.
  const cmd = spec.cmd.length ? spec.cmd : spec.entrypoint.length ? null : bc.Cmd ?? null;
  const ports: Record<string, Record<string, never>> = { ...(bc.ExposedPorts ?? {}) };
  for (const p of spec.ports) ports[`${p}/tcp`] = {};
  const cfg: NonNullable<ImageConfig['config']> = {
    ...bc,
    Env: mergeEnv(bc.Env ?? [], spec.env),
    Entrypoint: entrypoint,
    Cmd: cmd,
    WorkingDir: spec.workdir,
    Labels: { ...(bc.Labels ?? {}), ...spec.labels },
  };
  if (Object.keys(ports).length) cfg.ExposedPorts = ports;
  if (spec.user) cfg.User = spec.user;
  const history: HistoryEntry[] = [...(base.config.history ?? [])];
  for (const l of layers) history.push({ created, created_by: l.createdBy, comment: 'shale' });
  const out: ImageConfig = {
    ...base.config,
    created,
    architecture: platform.architecture,
    os: platform.os,
    config: cfg,
    rootfs: { type: 'layers', diff_ids: [...base.layers.map((l) => l.diffId), ...layers.map((l) => l.layer.diffId)] },
    history,
  };
  if (platform.variant) out.variant = platform.variant;
  else delete out.variant;
  delete out.container_config;
  delete out.container;
  delete out.docker_version;
  return out;
}

/**
 * Manifest annotation listing the image's Python packages ("flask==3.1.3 werkzeug==3.1.8", sorted
 * by name), whether a lock pinned them or the build resolved them: what an SBOM or an audit
 * needs, readable from the manifest alone.
 */
export const PYTHON_PACKAGES_ANNOTATION = 'dev.shale.python.packages';

/** Assembles config and manifest of one platform's image into an immutable Image. */
export function assembleImage(spec: BuildSpec, base: BaseImage, layers: readonly AppLayer[], platform: Platform, epoch: number, annotations: Record<string, string> = {}): Image {
  const config = imageConfig(spec, base, layers, platform, epoch);
  const configBytes = canonicalBytes(config);
  const all = [...base.layers, ...layers.map((l) => l.layer)];
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: all.map((l) => ociLayerDescriptor(l.descriptor)),
    annotations: {
      [Annotation.Created]: createdTime(epoch),
      [Annotation.BaseName]: base.name,
      [Annotation.BaseDigest]: base.digest,
      ...(base.libc === undefined ? {} : { [BASE_LIBC_ANNOTATION]: base.libc }),
      ...annotations,
    },
  };
  const manifestBytes = canonicalBytes(manifest);
  return { manifest, manifestBytes, digest: sha256(manifestBytes), config, configBytes, layers: all };
}

/** Assembles an OCI image index over the per-platform images. */
export function assembleIndex(images: readonly Image[], epoch: number): Index {
  const manifests: Descriptor[] = images.map((img) => {
    const platform: Platform = { os: img.config.os, architecture: img.config.architecture };
    if (img.config.variant) platform.variant = img.config.variant;
    return { mediaType: MediaType.OciManifest, digest: img.digest, size: img.manifestBytes.length, platform };
  });
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests, annotations: { [Annotation.Created]: createdTime(epoch) } };
  const indexBytes = canonicalBytes(index);
  return { index, indexBytes, digest: sha256(indexBytes), images };
}
