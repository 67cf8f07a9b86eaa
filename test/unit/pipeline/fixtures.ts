// Small synthetic projects and a base image in the in-process fake registry, for driving the
// whole pipeline (`build`) without Python packages, podman or a real registry.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadBuildSpec } from '../../../src/config/load.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import type { ShaleEvent } from '../../../src/events.js';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { MediaType, type ImageConfig, type Manifest } from '../../../src/oci/types.js';
import type { BuildOptions } from '../../../src/pipeline/options.js';
import type { BuildResult, LayerReport } from '../../../src/pipeline/result.js';
import type { Publisher } from '../../../src/publish/publisher.js';
import type { Mirrors } from '../../../src/ref/mirrors.js';
import type { FakeRegistry, LoggedRequest } from '../support/fake-registry.js';
import { makeLayer, tmp } from '../publish/fixtures.js';

/**
 * Pushes a one-layer "Python" base image into the fake registry (`library/python:3.11-slim`
 * unless told otherwise): its config sets PYTHON_VERSION, as the official images do, so the
 * build needs no `python` key. Returns its manifest digest.
 */
export async function pushBase(reg: FakeRegistry, repo = 'library/python', tag = '3.11-slim', marker = 'base'): Promise<string> {
  const layer = await makeLayer('base', { 'etc/os-release': `ID=${marker}\n`, 'usr/local/bin/python3': '#!/bin/sh\n' });
  const chunks: Buffer[] = [];
  for await (const c of await layer.open()) chunks.push(c as Buffer);
  reg.putBlob(repo, Buffer.concat(chunks));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHON_VERSION=3.11.9'], Cmd: ['python3'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'test base' }],
  };
  const configBytes = canonicalBytes(config);
  const configDigest = reg.putBlob(repo, configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest as Manifest['config']['digest'], size: configBytes.length },
    layers: [{ ...layer.descriptor, annotations: {} }],
  };
  return reg.putManifest(repo, canonicalBytes(manifest), MediaType.OciManifest, tag);
}

/** Writes a project (`shale.toml` plus `files`, paths relative to it) into a fresh temp dir and loads its spec. */
export async function project(config: string, files: Record<string, string>): Promise<BuildSpec> {
  const dir = await tmp('shale-pipeline-');
  for (const [path, text] of Object.entries({ 'shale.toml': config, ...files })) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return loadBuildSpec(dir);
}

/** The shale.toml of an app-only project on `base`. */
export const appConfig = (base: string, extra = ''): string =>
  `name = "demo"\nbase = "${base}"\nplatforms = ["linux/amd64"]\nentrypoint = ["python3", "main.py"]\n${extra}`;

/** Rewrites one file of a loaded project. */
export async function edit(spec: BuildSpec, path: string, text: string): Promise<void> {
  await writeFile(join(spec.projectDir, path), text);
}

/** Build options for a test: a cache dir, publishers, no mirrors, SOURCE_DATE_EPOCH 0. */
export function options(
  cacheDir: string,
  publishers: Publisher[],
  more: { cacheFrom?: BuildOptions['cacheFrom']; mirrors?: Mirrors; noCache?: boolean } = {},
): BuildOptions {
  return {
    cacheDir,
    publishers,
    cacheFrom: more.cacheFrom ?? [],
    noCache: more.noCache ?? false,
    insecureRegistries: [],
    epoch: 0,
    mirrors: more.mirrors ?? new Map(),
  };
}

/** An events sink that keeps what it is told. */
export function recorder(): { events: (e: ShaleEvent) => void; seen: ShaleEvent[] } {
  const seen: ShaleEvent[] = [];
  return { events: (e) => seen.push(e), seen };
}

/** The report of one layer by name (the app layer is "app"). */
export function layerOf(result: BuildResult, name: string): LayerReport {
  const l = result.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name} in ${result.layers.map((x) => x.name).join(', ')}`);
  return l;
}

/** Requests that write to the registry (uploads, mounts, manifest PUTs), from `since` on in its log. */
export function writes(reg: FakeRegistry, since = 0): LoggedRequest[] {
  return reg.log.slice(since).filter((r) => r.method === 'POST' || r.method === 'PATCH' || r.method === 'PUT');
}
