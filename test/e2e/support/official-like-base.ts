// A base laid out like the official `python:*` images, without Docker Hub: the Debian base of
// base-image.ts plus one small layer that puts Python where the official images have it.
//
// The official images build CPython into /usr/local (/usr/local/bin/python3, site-packages in
// /usr/local/lib/python3.X/site-packages) and say PYTHON_VERSION in their Env; shale takes that
// Env to mean "official layout". We cannot build CPython here, so the honest stand-in reuses
// Debian's interpreter and gives it the official paths:
//   - /usr/local/bin/python3 and /usr/local/bin/python → /usr/bin/python3.11 (symlinks), so
//     shebangs of `#!/usr/local/bin/python3` run;
//   - /usr/local/lib/python3.11/site-packages/, which Debian's python does not search by itself,
//     named by a .pth file in /usr/local/lib/python3.11/dist-packages/ (a directory Debian's
//     site.py does search; path lines of .pth files are added to sys.path), so what shale
//     installs into site-packages imports;
//   - PYTHON_VERSION=3.11.2 (bookworm's python3.11) in the config Env, PATH with /usr/local/bin first.
// The image is built by plain node code (tar-stream, zlib), never shale's own src.
import { copyFile, link, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarBuffer } from '../../support/tar.js';
import { ensureBaseLayout, writeJsonBlob } from './base-image.js';
import { requireTools } from './exec.js';
import { pushLayout } from './podman.js';

const TAG = '3.11-official';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
/** The Python of Debian bookworm, which this base's PYTHON_VERSION must name truthfully. */
export const OFFICIAL_LIKE_PYTHON_VERSION = '3.11.2';

type Item = { name: string; type: 'directory' | 'symlink' | 'file'; linkname?: string; data?: string };

/** The extra layer, as an uncompressed tar with fixed metadata (so its digest is stable). */
async function extraLayer(): Promise<Buffer> {
  const items: Item[] = [
    { name: 'usr/local/bin/python', type: 'symlink', linkname: '/usr/bin/python3.11' },
    { name: 'usr/local/bin/python3', type: 'symlink', linkname: '/usr/bin/python3.11' },
    { name: 'usr/local/lib/python3.11/', type: 'directory' },
    { name: 'usr/local/lib/python3.11/dist-packages/', type: 'directory' },
    { name: 'usr/local/lib/python3.11/dist-packages/official-site-packages.pth', type: 'file', data: '/usr/local/lib/python3.11/site-packages\n' },
    { name: 'usr/local/lib/python3.11/site-packages/', type: 'directory' },
  ];
  const mtime = new Date(1_700_000_000_000);
  return tarBuffer(
    items.map((it) => {
      const header = { name: it.name, type: it.type, mode: it.type === 'file' ? 0o644 : 0o755, mtime, uid: 0, gid: 0 };
      if (it.type === 'symlink') return { header: { ...header, linkname: it.linkname ?? '' } };
      return it.type === 'file' ? { header, data: it.data ?? '' } : { header };
    }),
  );
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Pushes the official-like base to `registryHost` as `library/python:3.11-official` and returns
 * its reference (`python:3.11-official` in a config, with docker.io mirrored to the registry).
 */
export async function ensureOfficialLikeBase(registryHost: string): Promise<{ ref: string; digest: string }> {
  requireTools('skopeo');
  const debian = await ensureBaseLayout();
  const tmp = await mkdtemp(join(tmpdir(), 'shale-official-base-'));
  try {
    const layout = join(tmp, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    for (const name of await readdir(join(debian.dir, 'blobs', 'sha256'))) {
      await link(join(debian.dir, 'blobs', 'sha256', name), join(blobs, name)).catch(() =>
        copyFile(join(debian.dir, 'blobs', 'sha256', name), join(blobs, name)),
      );
    }
    const baseManifest = JSON.parse(await readFile(join(blobs, debian.digest.slice(7)), 'utf8')) as {
      config: { digest: string };
      layers: { mediaType: string; digest: string; size: number }[];
    };
    const baseConfig = JSON.parse(await readFile(join(blobs, baseManifest.config.digest.slice(7)), 'utf8')) as {
      created: string;
      rootfs: { diff_ids: string[] };
      history: unknown[];
    };
    const tar = await extraLayer();
    const gz = gzipSync(tar, { level: 6 });
    await writeFile(join(blobs, sha(gz)), gz);
    const config = await writeJsonBlob(layout, 'application/vnd.oci.image.config.v1+json', {
      created: baseConfig.created,
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin', `PYTHON_VERSION=${OFFICIAL_LIKE_PYTHON_VERSION}`],
        Cmd: ['python3'],
      },
      rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, `sha256:${sha(tar)}`] },
      history: [
        ...baseConfig.history,
        {
          created: baseConfig.created,
          created_by: 'python in /usr/local, as the official images have it (symlinks to Debian python3.11, site-packages via .pth)',
          comment: 'shale e2e base image',
        },
      ],
    });
    const manifest = await writeJsonBlob(layout, MANIFEST_TYPE, {
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config,
      layers: [...baseManifest.layers, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(gz)}`, size: gz.length }],
    });
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX_TYPE, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': TAG } }] }),
    );
    const ref = `${registryHost}/library/python:${TAG}`;
    await pushLayout(layout, TAG, ref, { expect: manifest.digest });
    return { ref, digest: manifest.digest };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
