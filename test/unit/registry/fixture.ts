import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { sha256 } from '../../../src/oci/digest.js';
import type { Artifact, BlobOrigin, Image, Layer } from '../../../src/oci/image.js';
import { MediaType, type ImageConfig, type ImageIndex, type Manifest } from '../../../src/oci/types.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry/client.js';
import { FakeClock } from './fake-clock.js';

/** A layer spec for test images: its name, its bytes, and optionally where it already lives. */
export interface LayerSpec {
  name: string;
  bytes: Buffer;
  origin?: BlobOrigin;
}

/** Counts how often each layer was opened (uploads read the source once per attempt). */
export const opened = new Map<string, number>();

/** A test layer over in-memory bytes (they need not be real gzip for the registry). */
export function layer(spec: LayerSpec): Layer {
  const digest = sha256(spec.bytes);
  const l: Layer = {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest, size: spec.bytes.length, annotations: { 'dev.shale.layer.name': spec.name } },
    diffId: digest,
    open: async () => {
      opened.set(spec.name, (opened.get(spec.name) ?? 0) + 1);
      return Readable.from([spec.bytes]);
    },
    ...(spec.origin ? { origin: spec.origin } : {}),
  };
  return l;
}

/** An image with the given layers for one architecture. */
export function image(layers: LayerSpec[], architecture = 'amd64'): Image {
  const ls = layers.map(layer);
  const config: ImageConfig = { architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: ls.map((l) => l.diffId) } };
  const configBytes = canonicalBytes(config);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length },
    layers: ls.map((l) => l.descriptor),
  };
  const manifestBytes = canonicalBytes(manifest);
  return { manifest, manifestBytes, digest: sha256(manifestBytes), config, configBytes, layers: ls };
}

/** A single-image artifact. */
export const imageArtifact = (layers: LayerSpec[]): Artifact => ({ kind: 'image', image: image(layers) });

/** A two-platform index artifact sharing `shared` layers. */
export function indexArtifact(shared: LayerSpec[], amd: LayerSpec[], arm: LayerSpec[]): Artifact {
  const images = [image([...shared, ...amd], 'amd64'), image([...shared, ...arm], 'arm64')];
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: images.map((i) => ({
      mediaType: MediaType.OciManifest,
      digest: i.digest,
      size: i.manifestBytes.length,
      platform: { os: 'linux', architecture: i.config.architecture },
    })),
  };
  const indexBytes = canonicalBytes(index);
  return { kind: 'index', index: { index, indexBytes, digest: sha256(indexBytes), images } };
}

/**
 * A client with the default retry policy on a fake clock (its waits return at once; `clock`
 * records them) that reads credentials from a config.json in a temp dir (none by default).
 */
export async function testClient(
  opts: { auths?: Record<string, Record<string, string>>; options?: RegistryClientOptions } = {},
): Promise<{ client: RegistryClient; clock: FakeClock; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-reg-test-'));
  const configPath = join(dir, 'config.json');
  if (opts.auths) await writeFile(configPath, JSON.stringify({ auths: opts.auths }));
  const clock = new FakeClock();
  const client = new RegistryClient({ dockerConfigPath: configPath, clock, env: {}, ...opts.options });
  return {
    client,
    clock,
    dir,
    cleanup: async () => {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** base64 of "user:password", as `docker login` writes it. */
export const authEntry = (user: string, password: string): Record<string, string> => ({ auth: Buffer.from(`${user}:${password}`).toString('base64') });

/** Reads a stream fully. */
export async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
