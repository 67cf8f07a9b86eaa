/** The tarball checked by tools that share no code with shale: skopeo and podman. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeTarball } from '../../../src/image/tarball.js';
import { hasBinary, run, tinyImage, tinyIndex, tmp } from '../publish/fixtures.js';

test('skopeo reads the tarball both as a docker-archive and as an OCI archive', async (t) => {
  if (!hasBinary('skopeo')) return t.skip('skopeo is not installed');
  const file = join(await tmp(), 'image.tar');
  const art = await tinyImage();
  if (art.kind !== 'image') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: ['hello:1.0'] });
  const docker = JSON.parse(run('skopeo', ['inspect', `docker-archive:${file}`])) as { Layers: string[]; Architecture: string };
  // containers/image names docker-archive layers by their uncompressed digest (diff_id).
  assert.deepEqual(
    docker.Layers,
    art.image.layers.map((l) => l.diffId),
  );
  assert.equal(docker.Architecture, 'amd64');
  const oci = JSON.parse(run('skopeo', ['inspect', `oci-archive:${file}`])) as { Digest: string };
  assert.equal(oci.Digest, art.image.digest);
  // A copy checks every blob against its digest.
  run('skopeo', ['copy', '--quiet', `docker-archive:${file}`, `oci:${await tmp()}:x`]);
});

test('podman load accepts the tarball and shows the image with the right layers', async (t) => {
  if (!hasBinary('podman')) return t.skip('podman is not installed');
  const name = `localhost/shale-test-${randomBytes(4).toString('hex')}:v1`;
  const file = join(await tmp(), 'image.tar');
  const art = await tinyImage();
  if (art.kind !== 'image') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: [name] });
  try {
    run('podman', ['load', '-q', '-i', file]);
    const [info] = JSON.parse(run('podman', ['image', 'inspect', name])) as { RootFS: { Layers: string[] }; Architecture: string }[];
    assert.ok(info);
    assert.deepEqual(
      info.RootFS.Layers,
      art.image.layers.map((l) => l.diffId),
    );
    assert.equal(info.Architecture, 'amd64');
  } finally {
    try {
      run('podman', ['rmi', '-f', name]);
    } catch {
      // the image may not exist if the load failed; nothing to clean then
    }
  }
});

test('podman load accepts a multi-platform tarball (manifest.json names one platform)', async (t) => {
  if (!hasBinary('podman')) return t.skip('podman is not installed');
  const name = `localhost/shale-test-${randomBytes(4).toString('hex')}:multi`;
  const file = join(await tmp(), 'multi.tar');
  const art = await tinyIndex();
  if (art.kind !== 'index') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: [name], platform: { os: 'linux', architecture: 'amd64' } });
  try {
    run('podman', ['load', '-q', '-i', file]);
    const [info] = JSON.parse(run('podman', ['image', 'inspect', name])) as { RootFS: { Layers: string[] } }[];
    assert.deepEqual(
      info?.RootFS.Layers,
      art.index.images[0]?.layers.map((l) => l.diffId),
    );
  } finally {
    try {
      run('podman', ['rmi', '-f', name]);
    } catch {
      // nothing loaded, nothing to clean
    }
  }
});
