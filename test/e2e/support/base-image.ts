// The e2e base image, made without Docker Hub: a Debian bookworm root fs with Debian's python3
// (/usr/bin/python3, 3.11; no PYTHON_VERSION env: the honest "Debian python" base) built once per
// machine by mmdebstrap, wrapped as a one-layer OCI image layout by plain node code (never
// shale's own src, so a bug there cannot hide in the fixture), and pushed with skopeo.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { cachedDir, cacheKey } from './cache.js';
import { requireTools, run } from './exec.js';
import { pushLayout } from './podman.js';

/** Bump when the layout below changes, so caches on every machine are rebuilt. */
const FORMAT = 'base-image-v1';
/** Fixed so the root fs tar (and so the layer digest) only changes when Debian's packages do. */
const SOURCE_DATE_EPOCH = 1_700_000_000;
const TAG = '3.11-slim';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** mmdebstrap's arguments (before the output file): a small Debian 12 with python3. */
export const MMDEBSTRAP_ARGS: readonly string[] = [
  '--variant=essential',
  // usr-is-merged + the merged-usr hook keep usrmerge (and with it full perl, ~45 MB) out.
  // libstdc++6 is on every python:*-slim image and manylinux wheels (numpy, scipy) link to it.
  '--include=python3,ca-certificates,libstdc++6,usr-is-merged',
  '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
  '--skip=output/dev', // real images carry no device nodes
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-include=/usr/share/locale/locale.alias',
  '--format=tar',
  'bookworm',
];

export interface BaseLayout {
  /** OCI image layout directory (read-only: it is shared by every test on this machine). */
  dir: string;
  /** The tag in the layout: `oci:${dir}:${tag}`. */
  tag: string;
  /** Manifest digest. */
  digest: string;
  /** Seconds the first build took on this machine (mmdebstrap + gzip). */
  buildSeconds: number;
  /** Size of the one compressed layer. */
  layerBytes: number;
}

export interface BaseImageOptions {
  /** Repository to push to. Default `library/python` (what `python:3.11-slim` normalizes to). */
  repository?: string;
  /** Default `3.11-slim`. */
  tag?: string;
  /** Credentials for a registry started with `htpasswd`. */
  creds?: { user: string; password: string };
}

/** Hashes what passes through (exported for the other base-image fixtures). */
export class Hasher extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

/** A blob's descriptor in an OCI layout. */
export interface BlobDesc {
  mediaType: string;
  digest: string;
  size: number;
}

/** Writes `value` as a JSON blob into the OCI layout `layout` and returns its descriptor. */
export async function writeJsonBlob(layout: string, mediaType: string, value: unknown): Promise<BlobDesc> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** What goes into a one-layer image made from a root file system tar. */
export interface RootfsImage {
  /** `history[0].created_by` (how the root fs was made). */
  createdBy: string;
  comment: string;
  /** `org.opencontainers.image.ref.name` in index.json. */
  tag: string;
  architecture?: string;
  variant?: string;
}

/**
 * Makes `tmp/layout`, a one-layer OCI image layout, from the root file system tar `rootfs`
 * (gzip level 6, reproducible config), then deletes the tar. Independent of shale's code, so
 * the tests' base image is not made by the code under test. Returns the manifest and sizes.
 */
export async function layoutFromRootfs(
  tmp: string,
  rootfs: string,
  image: RootfsImage,
): Promise<{ manifest: BlobDesc; rootfsBytes: number; layerBytes: number }> {
  const layout = join(tmp, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const diff = new Hasher();
  const compressed = new Hasher();
  const layerTmp = join(blobs, 'layer.partial');
  await pipeline(createReadStream(rootfs), diff, createGzip({ level: 6 }), compressed, createWriteStream(layerTmp));
  const diffId = `sha256:${diff.hash.digest('hex')}`;
  const layerHex = compressed.hash.digest('hex');
  await rename(layerTmp, join(blobs, layerHex));
  await rm(rootfs);

  const created = new Date(SOURCE_DATE_EPOCH * 1000).toISOString();
  const config = await writeJsonBlob(layout, 'application/vnd.oci.image.config.v1+json', {
    created,
    architecture: image.architecture ?? 'amd64',
    ...(image.variant ? { variant: image.variant } : {}),
    os: 'linux',
    config: { Env: [PATH_ENV], Cmd: ['python3'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: image.createdBy, comment: image.comment }],
  });
  const manifest = await writeJsonBlob(layout, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layerHex}`, size: compressed.size }],
  });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': image.tag } }],
    }),
  );
  return { manifest, rootfsBytes: diff.size, layerBytes: compressed.size };
}

async function buildLayout(tmp: string): Promise<void> {
  requireTools('mmdebstrap');
  const started = Date.now();
  const rootfs = join(tmp, 'rootfs.tar');
  await run('mmdebstrap', [...MMDEBSTRAP_ARGS, rootfs], {
    env: { SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) },
    timeoutMs: 20 * 60_000,
  });
  const debootstrapSeconds = (Date.now() - started) / 1000;
  const made = await layoutFromRootfs(tmp, rootfs, { createdBy: `mmdebstrap ${MMDEBSTRAP_ARGS.join(' ')}`, comment: 'shale e2e base image', tag: TAG });
  const info = {
    digest: made.manifest.digest,
    tag: TAG,
    debootstrapSeconds,
    buildSeconds: (Date.now() - started) / 1000,
    rootfsBytes: made.rootfsBytes,
    layerBytes: made.layerBytes,
  };
  await writeFile(join(tmp, 'info.json'), JSON.stringify(info, null, 2) + '\n');
}

/**
 * The base image as an OCI layout, built on first use (about half a minute) and cached under
 * the test cache dir. Concurrent callers wait for one build.
 */
export async function ensureBaseLayout(): Promise<BaseLayout> {
  const key = cacheKey(FORMAT, String(SOURCE_DATE_EPOCH), ...MMDEBSTRAP_ARGS);
  const dir = await cachedDir(`base-image/bookworm-python3-amd64-${key}`, buildLayout);
  const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as Record<string, unknown>;
  const { digest, buildSeconds, layerBytes } = info;
  if (typeof digest !== 'string' || typeof buildSeconds !== 'number' || typeof layerBytes !== 'number') {
    throw new Error(`corrupt base image cache ${dir}; delete it`);
  }
  return { dir: join(dir, 'layout'), tag: TAG, digest, buildSeconds, layerBytes };
}

/**
 * Makes sure `registryHost` serves the base image as `HOST/library/python:3.11-slim` (or the
 * repository/tag given) and returns its reference and manifest digest.
 */
export async function ensureBaseImage(registryHost: string, opts: BaseImageOptions = {}): Promise<{ ref: string; digest: string }> {
  requireTools('skopeo');
  const layout = await ensureBaseLayout();
  const ref = `${registryHost}/${opts.repository ?? 'library/python'}:${opts.tag ?? TAG}`;
  await pushLayout(layout.dir, layout.tag, ref, { expect: layout.digest, ...(opts.creds ? { creds: opts.creds } : {}) });
  return { ref, digest: layout.digest };
}
