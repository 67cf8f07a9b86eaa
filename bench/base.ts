// The benchmark's base image: the e2e base (Debian bookworm + python3, see
// test/e2e/support/base-image.ts) plus python3-pip, because the reference Dockerfile flow runs
// `pip install`. shale builds on the very same image so the comparison is fair. Built once per
// machine with mmdebstrap (about a minute), wrapped as a one-layer OCI layout, cached in the e2e
// test cache and pushed with skopeo.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { layoutFromRootfs, MMDEBSTRAP_ARGS } from '../test/e2e/support/base-image.js';
import { cachedDir, cacheKey } from '../test/e2e/support/cache.js';
import { requireTools, run } from '../test/e2e/support/exec.js';
import { pushLayout } from '../test/e2e/support/podman.js';

const FORMAT = 'bench-base-image-v1';
const SOURCE_DATE_EPOCH = 1_700_000_000;
export const BASE_REPOSITORY = 'library/python';
export const BASE_TAG = '3.11-slim';

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

async function buildLayout(tmp: string): Promise<void> {
  requireTools('mmdebstrap');
  const args = benchMmdebstrapArgs();
  const rootfs = join(tmp, 'rootfs.tar');
  await run('mmdebstrap', [...args, rootfs], { env: { SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) }, timeoutMs: 20 * 60_000 });
  const made = await layoutFromRootfs(tmp, rootfs, { createdBy: `mmdebstrap ${args.join(' ')}`, comment: 'shale bench base image (with pip)', tag: BASE_TAG });
  await writeFile(
    join(tmp, 'info.json'),
    JSON.stringify({ digest: made.manifest.digest, layerBytes: made.layerBytes, rootfsBytes: made.rootfsBytes }, null, 2) + '\n',
  );
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
  await pushLayout(join(dir, 'layout'), BASE_TAG, ref, { expect: info.digest });
  return { ref, digest: info.digest, layerBytes: info.layerBytes };
}
