/** Tiny but real images for the publish tests: gzip'd tar layers, configs with diff_ids, manifests. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { sha256 } from '../../../src/oci/digest.js';
import { Annotation, layerLabel } from '../../../src/oci/annotations.js';
import type { Artifact, Image, Index, Layer } from '../../../src/oci/image.js';
import { MediaType, type ImageConfig, type ImageIndex, type Manifest } from '../../../src/oci/types.js';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** A fresh temporary directory, removed when the test file is done. */
export async function tmp(prefix = 'shale-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Whether a program is on PATH (tests that need skopeo, umoci or podman skip without it). */
export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** Runs a program and returns stdout; throws with stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A tar archive (uncompressed) of the given files. */
export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tarPack();
  for (const [name, content] of Object.entries(files).sort()) {
    pack.entry({ name, size: Buffer.byteLength(content), mode: 0o644, mtime: new Date(0) }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A gzip'd layer of the given files, named `name` in its descriptor annotations. */
export async function makeLayer(name: string, files: Record<string, string>): Promise<Layer> {
  const tar = await tarOf(files);
  const gz = gzipSync(tar, { level: 6 });
  return {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: sha256(gz), size: gz.length, annotations: { [Annotation.LayerName]: name } },
    diffId: sha256(tar),
    open: () => Promise.resolve(Readable.from([gz])),
  };
}

/** A layer whose bytes cannot be had: open() fails (a build step that broke). */
export function failingLayer(): Layer {
  const digest = sha256('never');
  return {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest, size: 5, annotations: { [Annotation.LayerName]: 'broken' } },
    diffId: digest,
    open: () => Promise.reject(new Error('the layer could not be built')),
  };
}

/** An image of the given layers for one architecture. */
export function makeImage(layers: Layer[], architecture = 'amd64'): Image {
  const config: ImageConfig = {
    // umoci stat crashes on history entries without `created`; real shale images always set it.
    created: '1970-01-01T00:00:00Z',
    architecture,
    os: 'linux',
    config: { Cmd: ['/bin/true'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: '1970-01-01T00:00:00Z', created_by: `shale test layer ${layerLabel(l.descriptor)}` })),
  };
  const configBytes = canonicalBytes(config);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = canonicalBytes(manifest);
  return { manifest, manifestBytes, digest: sha256(manifestBytes), config, configBytes, layers };
}

/** An index over images (their platforms taken from their configs). */
export function makeIndex(images: Image[]): Index {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: images.map((i) => ({
      mediaType: i.manifest.mediaType,
      digest: i.digest,
      size: i.manifestBytes.length,
      platform: { os: i.config.os, architecture: i.config.architecture },
    })),
  };
  const indexBytes = canonicalBytes(index);
  return { index, indexBytes, digest: sha256(indexBytes), images };
}

/** A one-image artifact with two layers. */
export async function tinyImage(tag = 'one'): Promise<Artifact> {
  const base = await makeLayer('base', { 'etc/hello.txt': `hello ${tag}\n` });
  const app = await makeLayer('app', { 'app/main.py': `print("hi ${tag}")\n` });
  return { kind: 'image', image: makeImage([base, app]) };
}

/** A two-platform index sharing its app layer. */
export async function tinyIndex(): Promise<Artifact> {
  const app = await makeLayer('app', { 'app/main.py': 'print("hi")\n' });
  const amd = await makeLayer('deps', { 'lib/native.so': 'amd64 bytes' });
  const arm = await makeLayer('deps', { 'lib/native.so': 'arm64 bytes' });
  return { kind: 'index', index: makeIndex([makeImage([amd, app], 'amd64'), makeImage([arm, app], 'arm64')]) };
}

/** Reads a stream to a Buffer. */
export async function bytesOf(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
