import { Annotation } from '../oci/annotations.js';
import { SCRATCH } from '../config/scratch.js';
import type { Image, Index, Layer } from '../oci/image.js';
import { annotate, appendLayers, ociImage, ociIndex, setConfig } from '../oci/mutate.js';
import type { ContainerConfig, ImageConfig, Platform } from '../oci/types.js';

/** The base image of one platform, as resolved from its registry (layers not downloaded). */
export interface BaseImage {
  /** Normalized reference the user asked for, e.g. docker.io/library/python:3.11-slim. */
  name: string;
  /** Digest of the platform's manifest. */
  digest: string;
  config: ImageConfig;
  layers: readonly Layer[];
  /**
   * What the build learned of it (src/base/facts.ts: its C library, its Python) as manifest
   * annotations (`dev.shale.base.libc`, `dev.shale.base.python`), so later builds need not read its layers.
   */
  facts?: Readonly<Record<string, string>>;
}

/** A shale-made layer with the history line that describes it. */
export interface AppLayer {
  layer: Layer;
  createdBy: string;
}

/** How the image runs, as the config's `[tool.shale]` keys say (README, "Configuration guide"). */
export interface ImageSettings {
  entrypoint: readonly string[];
  cmd: readonly string[];
  env: Readonly<Record<string, string>>;
  workdir: string;
  labels: Readonly<Record<string, string>>;
  ports: readonly number[];
  /** Empty: the base's user. */
  user: string;
}

/** `created` for configs and annotations: SOURCE_DATE_EPOCH, default 0, so builds are reproducible. */
export const createdTime = (epoch: number): string => new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

function mergeEnv(base: readonly string[], extra: Readonly<Record<string, string>>): string[] {
  const out = base.filter((kv) => !(kv.split('=', 1)[0]! in extra));
  for (const [k, v] of Object.entries(extra)) out.push(`${k}=${v}`);
  return out;
}

/**
 * The config of the image before its own layers: the base's, with the app's settings on top,
 * for the platform built, dated `created`. Fields only Docker's builder writes are dropped.
 */
export function runConfig(base: ImageConfig, settings: ImageSettings, platform: Platform, created: string): ImageConfig {
  const bc = base.config ?? {};
  const entrypoint = settings.entrypoint.length ? [...settings.entrypoint] : (bc.Entrypoint ?? null);
  // As with Dockerfile ENTRYPOINT: a new entrypoint drops the base's CMD unless cmd is given.
  const cmd = settings.cmd.length ? [...settings.cmd] : settings.entrypoint.length ? null : (bc.Cmd ?? null);
  const ports: Record<string, object> = { ...(bc.ExposedPorts ?? {}) };
  for (const p of settings.ports) ports[`${p}/tcp`] = {};
  const cfg: ContainerConfig = {
    ...bc,
    Env: mergeEnv(bc.Env ?? [], settings.env),
    Entrypoint: entrypoint,
    Cmd: cmd,
    WorkingDir: settings.workdir,
    Labels: { ...(bc.Labels ?? {}), ...settings.labels },
  };
  if (Object.keys(ports).length) cfg.ExposedPorts = ports;
  if (settings.user) cfg.User = settings.user;
  const { container_config: _c, container: _n, docker_version: _v, variant: _p, ...kept } = base;
  return { ...kept, created, architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), config: cfg };
}

/**
 * Assembles one platform's image: the base's layers under the app's settings, the app's layers
 * on top (a history entry each, so `docker history` names them), and the manifest annotations
 * that record the base (its name, digest and what the build learned of it) and whatever `annotations` add.
 */
export function assembleImage(
  base: BaseImage,
  settings: ImageSettings,
  layers: readonly AppLayer[],
  platform: Platform,
  epoch: number,
  annotations: Record<string, string> = {},
): Image {
  const created = createdTime(epoch);
  const onBase = setConfig(ociImage(base.config, base.layers), runConfig(base.config, settings, platform, created));
  const withApp = appendLayers(
    onBase,
    layers.map((l) => ({ layer: l.layer, history: { created, created_by: l.createdBy, comment: 'shale' } })),
  );
  return annotate(withApp, {
    [Annotation.Created]: created,
    [Annotation.BaseName]: base.name,
    // A base made of packages (base = "scratch") has no manifest whose digest the image could name.
    ...(base.name === SCRATCH ? {} : { [Annotation.BaseDigest]: base.digest }),
    ...base.facts,
    ...annotations,
  });
}

/** Assembles an OCI image index over the per-platform images. */
export function assembleIndex(images: readonly Image[], epoch: number): Index {
  return ociIndex(images, { [Annotation.Created]: createdTime(epoch) });
}
