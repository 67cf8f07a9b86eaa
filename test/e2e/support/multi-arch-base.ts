// A two-platform base image for the multi-platform tests: `library/python:3.11-slim` as an OCI
// image index whose linux/amd64 entry is the single-platform base of base-image.ts (the same
// manifest digest) and whose linux/arm64/v8 entry is a Debian arm64 root fs with python3. The
// arm64 tree is made by `mmdebstrap --variant=extract` (package contents unpacked, no maintainer
// scripts run), so no emulation is needed; it cannot run here, and does not have to.
import { copyFile, link, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseLayout, layoutFromRootfs, writeJsonBlob, type BaseLayout, type BlobDesc } from './base-image.js';
import { cachedDir, cacheKey } from './cache.js';
import { requireTools, run } from './exec.js';
import { pushLayout } from './podman.js';

const FORMAT = 'base-image-arm64-v1';
const SOURCE_DATE_EPOCH = 1_700_000_000;
const TAG = '3.11-slim';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** mmdebstrap's arguments (before the output file) for the arm64 root fs. */
export const MMDEBSTRAP_ARM64_ARGS: readonly string[] = [
  '--architectures=arm64',
  '--variant=extract',
  '--include=python3,libstdc++6,ca-certificates,usr-is-merged',
  '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
  '--skip=output/dev',
  '--format=tar',
  'bookworm',
];

async function buildArm64Layout(tmp: string): Promise<void> {
  requireTools('mmdebstrap');
  const started = Date.now();
  const rootfs = join(tmp, 'rootfs.tar');
  await run('mmdebstrap', [...MMDEBSTRAP_ARM64_ARGS, rootfs], { env: { SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) }, timeoutMs: 20 * 60_000 });
  const made = await layoutFromRootfs(tmp, rootfs, {
    createdBy: `mmdebstrap ${MMDEBSTRAP_ARM64_ARGS.join(' ')}`,
    comment: 'shale e2e base image (arm64)',
    tag: TAG,
    architecture: 'arm64',
    variant: 'v8',
  });
  const info = {
    digest: made.manifest.digest,
    tag: TAG,
    buildSeconds: (Date.now() - started) / 1000,
    rootfsBytes: made.rootfsBytes,
    layerBytes: made.layerBytes,
  };
  await writeFile(join(tmp, 'info.json'), JSON.stringify(info, null, 2) + '\n');
}

/** The arm64 base as an OCI layout, built on first use (about 15 s) and cached like the amd64 one. */
export async function ensureArm64BaseLayout(): Promise<BaseLayout> {
  const key = cacheKey(FORMAT, String(SOURCE_DATE_EPOCH), ...MMDEBSTRAP_ARM64_ARGS);
  const dir = await cachedDir(`base-image/bookworm-python3-arm64-${key}`, buildArm64Layout);
  const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as Record<string, unknown>;
  const { digest, buildSeconds, layerBytes } = info;
  if (typeof digest !== 'string' || typeof buildSeconds !== 'number' || typeof layerBytes !== 'number')
    throw new Error(`corrupt base image cache ${dir}; delete it`);
  return { dir: join(dir, 'layout'), tag: TAG, digest, buildSeconds, layerBytes };
}

/** Links (or copies) every blob of `from` into the layout `to`. */
async function linkBlobs(from: string, to: string): Promise<void> {
  const src = join(from, 'blobs', 'sha256');
  const dst = join(to, 'blobs', 'sha256');
  for (const name of await readdir(src)) {
    await link(join(src, name), join(dst, name)).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return;
      await copyFile(join(src, name), join(dst, name));
    });
  }
}

async function manifestDesc(layout: BaseLayout, platform: { architecture: string; os: string; variant?: string }): Promise<BlobDesc & { platform: object }> {
  const size = (await stat(join(layout.dir, 'blobs', 'sha256', layout.digest.slice('sha256:'.length)))).size;
  return { mediaType: MANIFEST_TYPE, digest: layout.digest, size, platform };
}

/** What {@link ensureMultiArchBase} pushed. */
export interface MultiArchBase {
  /** `HOST/library/python:3.11-slim` (or the repository/tag asked for). */
  ref: string;
  /** Digest of the image index. */
  digest: string;
  /** Manifest digest per platform: `linux/amd64`, `linux/arm64`. */
  manifests: Record<'linux/amd64' | 'linux/arm64', string>;
}

/**
 * Pushes the two-platform base to `registryHost` (as `library/python:3.11-slim` unless told
 * otherwise): an OCI layout holding both images and an index over them, copied with
 * `skopeo copy --all --preserve-digests`. Use a registry of its own: the tag is the same one
 * the single-platform {@link ensureBaseImage} pushes.
 */
export async function ensureMultiArchBase(registryHost: string, opts: { repository?: string; tag?: string } = {}): Promise<MultiArchBase> {
  requireTools('skopeo');
  const [amd64, arm64] = await Promise.all([ensureBaseLayout(), ensureArm64BaseLayout()]);
  const ref = `${registryHost}/${opts.repository ?? 'library/python'}:${opts.tag ?? TAG}`;
  const tmp = await mkdtemp(join(tmpdir(), 'shale-multiarch-base-'));
  try {
    const layout = join(tmp, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    await linkBlobs(amd64.dir, layout);
    await linkBlobs(arm64.dir, layout);
    const index = await writeJsonBlob(layout, INDEX_TYPE, {
      schemaVersion: 2,
      mediaType: INDEX_TYPE,
      manifests: [
        await manifestDesc(amd64, { architecture: 'amd64', os: 'linux' }),
        await manifestDesc(arm64, { architecture: 'arm64', os: 'linux', variant: 'v8' }),
      ],
    });
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX_TYPE, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': TAG } }] }),
    );
    await pushLayout(layout, TAG, ref, { expect: index.digest, all: true });
    return { ref, digest: index.digest, manifests: { 'linux/amd64': amd64.digest, 'linux/arm64': arm64.digest } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
