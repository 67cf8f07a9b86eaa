import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import type { Artifact, Layer } from '../../../src/oci/image.js';
import { readLayout, writeLayout } from '../../../src/image/layout.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { bytesOf, failingLayer, makeImage, makeLayer, tinyImage, tinyIndex, tmp } from '../publish/fixtures.js';

const indexJson = async (dir: string): Promise<{ manifests: { digest: string; annotations?: Record<string, string> }[] }> =>
  JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };

test('writeLayout writes an OCI image layout that readLayout reads back unchanged', async () => {
  const dir = await tmp();
  const art = await tinyImage();
  assert.equal(art.kind, 'image');
  if (art.kind !== 'image') return;
  const digest = await writeLayout(dir, art, { tag: 'v1' });
  assert.equal(digest, art.image.digest);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const idx = await indexJson(dir);
  assert.equal(idx.manifests.length, 1);
  assert.equal(idx.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'], 'v1');

  const back = await readLayout(dir, 'v1');
  assert.equal(back.kind, 'image');
  if (back.kind !== 'image') return;
  assert.equal(back.image.digest, art.image.digest);
  assert.deepEqual(back.image.manifestBytes, art.image.manifestBytes);
  assert.deepEqual(back.image.configBytes, art.image.configBytes);
  // Read back, a layer is what the image says of it: its descriptor (annotations included) and diff_id.
  assert.deepEqual(
    back.image.layers.map((l) => [l.descriptor, l.diffId]),
    art.image.layers.map((l) => [l.descriptor, l.diffId]),
  );
  for (const [i, l] of back.image.layers.entries()) {
    const want = art.image.layers[i] as Layer;
    assert.deepEqual(await bytesOf(await l.open()), await bytesOf(await want.open()));
  }
  await assertValidArtifact(back, 'the image read back from the layout');
  // With a single image, no ref is needed.
  assert.equal((await readLayout(dir)).kind, 'image');
});

test('writeLayout stores every platform of an index, shared layers once', async () => {
  const dir = await tmp();
  const art = await tinyIndex();
  if (art.kind !== 'index') throw new Error('fixture');
  assert.equal(await writeLayout(dir, art, { tag: 'multi' }), art.index.digest);
  // 3 distinct layers + 2 configs + 2 manifests + 1 index
  assert.equal((await readdir(join(dir, 'blobs', 'sha256'))).length, 8);
  const back = await readLayout(dir, 'multi');
  if (back.kind !== 'index') throw new Error(`read back a ${back.kind}`);
  assert.equal(back.index.digest, art.index.digest);
  assert.deepEqual(
    back.index.images.map((i) => i.config.architecture),
    ['amd64', 'arm64'],
  );
  await assertValidArtifact(back, 'the index read back from the layout');
});

test('writing the same image again rewrites no blob and keeps one index.json entry', async () => {
  const dir = await tmp();
  const art = await tinyImage();
  await writeLayout(dir, art, { tag: 'v1' });
  const blobDir = join(dir, 'blobs', 'sha256');
  const before = await Promise.all((await readdir(blobDir)).map(async (n) => [n, (await stat(join(blobDir, n))).mtimeMs] as const));
  const events: ShaleEvent[] = [];
  await writeLayout(dir, art, { tag: 'v1', events: (e) => events.push(e) });
  const after = await Promise.all((await readdir(blobDir)).map(async (n) => [n, (await stat(join(blobDir, n))).mtimeMs] as const));
  assert.deepEqual(after, before);
  const uploads = events.filter((e) => e.type === 'upload');
  assert.ok(uploads.length > 0 && uploads.every((e) => e.type === 'upload' && e.status === 'exists'));
  assert.equal((await indexJson(dir)).manifests.length, 1);
});

test('a new image under an existing tag replaces that entry and keeps the others', async () => {
  const dir = await tmp();
  const one = await tinyImage('one');
  const two = await tinyImage('two');
  const three = await tinyImage('three');
  await writeLayout(dir, one, { tag: 'v1' });
  await writeLayout(dir, two, { tag: 'v2' });
  const d3 = await writeLayout(dir, three, { tag: 'v1' });
  const idx = await indexJson(dir);
  assert.deepEqual(
    idx.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]).sort(),
    [
      ['v1', d3],
      ['v2', two.kind === 'image' ? two.image.digest : ''],
    ].sort(),
  );
  await assert.rejects(readLayout(dir), { code: 'SHALE_AMBIGUOUS_REF' });
  await assert.rejects(readLayout(dir, 'v9'), (e: Error) => e.message.includes('no image named "v9"') && e.message.includes('v2'));
});

test('index.json is written last: no blob is written after it, and a failed write leaves it untouched', async () => {
  const dir = await tmp();
  // A layer that checks, when its bytes are asked for, that index.json does not exist yet.
  const real = await makeLayer('app', { 'a.txt': 'a' });
  let sawIndex = true;
  const watching: Layer = {
    ...real,
    open: async () => {
      sawIndex = existsSync(join(dir, 'index.json'));
      return real.open();
    },
  };
  await writeLayout(dir, { kind: 'image', image: makeImage([watching]) }, { tag: 'v1' });
  assert.equal(sawIndex, false);

  const before = await readFile(join(dir, 'index.json'));
  const broken: Artifact = { kind: 'image', image: makeImage([real, failingLayer()]) };
  await assert.rejects(writeLayout(dir, broken, { tag: 'v1' }), /writing layer broken .*could not be built/);
  assert.deepEqual(await readFile(join(dir, 'index.json')), before);
  const names = await readdir(join(dir, 'blobs', 'sha256'));
  assert.ok(
    names.every((n) => /^[a-f0-9]{64}$/.test(n)),
    `temporary files left: ${names.join(', ')}`,
  );
});

test('a failed first write leaves no index.json at all', async () => {
  const dir = await tmp();
  await assert.rejects(writeLayout(dir, { kind: 'image', image: makeImage([failingLayer()]) }, { tag: 'v1' }));
  assert.equal(existsSync(join(dir, 'index.json')), false);
});

test('a layer whose bytes do not match its descriptor fails the write', async () => {
  const dir = await tmp();
  const real = await makeLayer('app', { 'a.txt': 'a' });
  const lying: Layer = { ...real, open: () => Promise.resolve(Readable.from([Buffer.from('other bytes')])) };
  await assert.rejects(writeLayout(dir, { kind: 'image', image: makeImage([lying]) }), { code: 'SHALE_DIGEST_MISMATCH' });
});

test('readLayout explains a directory that is not a layout', async () => {
  const dir = await tmp();
  await assert.rejects(readLayout(dir), { message: `${dir} is not an OCI image layout (no index.json).`, code: 'SHALE_NOT_A_LAYOUT' });
});
