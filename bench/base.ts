// The benchmark's base image: the e2e base (Debian bookworm + python3, see
// test/e2e/support/base-image.ts) plus python3-pip, because the reference Dockerfile flow runs
// `pip install`. shale builds on the very same image so the comparison is fair. Built once per
// machine with mmdebstrap (about a minute), wrapped as a one-layer OCI layout, cached in the e2e
// test cache and pushed with skopeo.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { MMDEBSTRAP_ARGS } from '../test/e2e/support/base-image.js';
import { cachedDir, cacheKey } from '../test/e2e/support/cache.js';
import { requireTools, run } from '../test/e2e/support/exec.js';

const FORMAT = 'bench-base-image-v1';
const SOURCE_DATE_EPOCH = 1_700_000_000;
export const BASE_REPOSITORY = 'library/python';
export const BASE_TAG = '3.11-slim';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The e2e base's mmdebstrap arguments with python3-pip added to --include. */
export function benchMmdebstrapArgs(): string[] {
  let found = false;
  const args = MMDEBSTRAP_ARGS.map((a) => {
    if (!a.startsWith('--include=')) return a;
    found = true;
    const pkgs = a.slice('--include='.length).split(',');
    if (!pkgs.includes('python3-pip')) pkgs.splice(1, 0, 'python3-pip');
    return `--include=${pkgs.join(',')}`;
  });
  if (!found) args.unshift('--include=python3,python3-pip,ca-certificates');
  return args;
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

async function jsonBlob(blobs: string, mediaType: string, value: unknown): Promise<{ mediaType: string; digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

async function buildLayout(tmp: string): Promise<void> {
  requireTools('mmdebstrap');
  const args = benchMmdebstrapArgs();
  const rootfs = join(tmp, 'rootfs.tar');
  await run('mmdebstrap', [...args, rootfs], { env: { SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) }, timeoutMs: 20 * 60_000 });
  const layout = join(tmp, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const diff = new Hasher();
  const gz = new Hasher();
  const partial = join(blobs, 'layer.partial');
  await pipeline(createReadStream(rootfs), diff, createGzip({ level: 6 }), gz, createWriteStream(partial));
  const layerHex = gz.hash.digest('hex');
  await rename(partial, join(blobs, layerHex));
  await rm(rootfs);
  const created = new Date(SOURCE_DATE_EPOCH * 1000).toISOString();
  const config = await jsonBlob(blobs, 'application/vnd.oci.image.config.v1+json', {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [PATH_ENV], Cmd: ['python3'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diff.hash.digest('hex')}`] },
    history: [{ created, created_by: `mmdebstrap ${args.join(' ')}`, comment: 'shale bench base image (with pip)' }],
  });
  const manifest = await jsonBlob(blobs, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layerHex}`, size: gz.size }],
  });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': BASE_TAG } }],
    }),
  );
  await writeFile(join(tmp, 'info.json'), JSON.stringify({ digest: manifest.digest, layerBytes: gz.size, rootfsBytes: diff.size }, null, 2) + '\n');
}

export interface BenchBase {
  /** `HOST/library/python:3.11-slim` as pushed. */
  ref: string;
  digest: string;
  /** Compressed size of its one layer. */
  layerBytes: number;
}

/** Builds (once per machine) and pushes the bench base to `registryHost` (directly, not via the proxy). */
export async function ensureBenchBase(registryHost: string): Promise<BenchBase> {
  requireTools('skopeo');
  const key = cacheKey(FORMAT, String(SOURCE_DATE_EPOCH), ...benchMmdebstrapArgs());
  const dir = await cachedDir(`bench-base-image/bookworm-python3-pip-amd64-${key}`, buildLayout);
  const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as { digest: string; layerBytes: number };
  const ref = `${registryHost}/${BASE_REPOSITORY}:${BASE_TAG}`;
  const digestFile = join(tmpdir(), `shale-bench-base-${process.pid}.digest`);
  try {
    await run('skopeo', [
      '--insecure-policy', 'copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false',
      '--digestfile', digestFile, `oci:${join(dir, 'layout')}:${BASE_TAG}`, `docker://${ref}`,
    ], { timeoutMs: 5 * 60_000 });
    const pushed = readFileSync(digestFile, 'utf8').trim();
    if (pushed !== info.digest) throw new Error(`skopeo pushed ${ref} as ${pushed}, expected ${info.digest}`);
  } finally {
    await rm(digestFile, { force: true });
  }
  return { ref, digest: info.digest, layerBytes: info.layerBytes };
}
