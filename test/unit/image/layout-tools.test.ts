/** The layout checked by tools that share no code with shale: skopeo and umoci. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeLayout } from '../../../src/image/layout.js';
import { hasBinary, run, tinyImage, tinyIndex, tmp } from '../publish/fixtures.js';

test('skopeo reads the layout: digest, layers, and copies it with every blob verified', async (t) => {
  if (!hasBinary('skopeo')) return t.skip('skopeo is not installed');
  const dir = await tmp();
  const art = await tinyImage();
  if (art.kind !== 'image') throw new Error('fixture');
  await writeLayout(dir, art, { tag: 'v1' });
  const info = JSON.parse(run('skopeo', ['inspect', `oci:${dir}:v1`])) as { Digest: string; Layers: string[]; Architecture: string };
  assert.equal(info.Digest, art.image.digest);
  assert.deepEqual(
    info.Layers,
    art.image.layers.map((l) => l.descriptor.digest),
  );
  assert.equal(info.Architecture, 'amd64');
  const copy = await tmp();
  run('skopeo', ['copy', '--quiet', `oci:${dir}:v1`, `oci:${copy}:v1`]);
});

test('skopeo reads a multi-platform layout by platform', async (t) => {
  if (!hasBinary('skopeo')) return t.skip('skopeo is not installed');
  const dir = await tmp();
  const art = await tinyIndex();
  if (art.kind !== 'index') throw new Error('fixture');
  await writeLayout(dir, art, { tag: 'multi' });
  const raw = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${dir}:multi`])) as { manifests: unknown[] };
  assert.equal(raw.manifests.length, 2);
  const arm = JSON.parse(run('skopeo', ['--override-arch', 'arm64', 'inspect', `oci:${dir}:multi`])) as {
    Digest: string;
    Architecture: string;
    Layers: string[];
  };
  assert.equal(arm.Digest, art.index.digest);
  assert.equal(arm.Architecture, 'arm64');
  assert.deepEqual(
    arm.Layers,
    art.index.images[1]?.layers.map((l) => l.descriptor.digest),
  );
  const copy = await tmp();
  run('skopeo', ['copy', '--quiet', '--all', `oci:${dir}:multi`, `oci:${copy}:multi`]);
});

test('umoci stats and unpacks the layout, checking each layer against its diff_id', async (t) => {
  if (!hasBinary('umoci')) return t.skip('umoci is not installed');
  const dir = await tmp();
  const art = await tinyImage();
  await writeLayout(dir, art, { tag: 'v1' });
  const stat = run('umoci', ['stat', '--image', `${dir}:v1`]);
  assert.match(stat, /shale test layer app/);
  const bundle = join(await tmp(), 'bundle');
  run('umoci', ['unpack', '--rootless', '--image', `${dir}:v1`, bundle]);
  assert.equal(await readFile(join(bundle, 'rootfs', 'etc', 'hello.txt'), 'utf8'), 'hello one\n');
  assert.equal(await readFile(join(bundle, 'rootfs', 'app', 'main.py'), 'utf8'), 'print("hi one")\n');
});
