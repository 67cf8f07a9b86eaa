import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { digestHex, sha256 } from '../../../src/oci/digest.js';
import type { Layer } from '../../../src/oci/image.js';
import { readTarball, writeTarball } from '../../../src/image/tarball.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { bytesOf, failingLayer, makeImage, makeLayer, tarOf, tinyImage, tinyIndex, tmp } from '../publish/fixtures.js';

/** Every regular file of a tar, by name. */
async function filesOf(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tarExtract();
  const feeding = pipeline(createReadStream(file), ex);
  for await (const entry of ex) {
    const b = await bytesOf(entry as unknown as Readable);
    if (entry.header.type === 'file') out.set(entry.header.name, b);
  }
  await feeding;
  return out;
}

const json = (b: Buffer | undefined): unknown => JSON.parse((b ?? Buffer.from('null')).toString('utf8'));

test('writeTarball writes a docker-archive that is also an OCI layout', async () => {
  const file = join(await tmp(), 'image.tar');
  const art = await tinyImage();
  if (art.kind !== 'image') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: ['hello:1.0'] });
  const files = await filesOf(file);
  const blob = (d: string): string => `blobs/sha256/${digestHex(d as `sha256:${string}`)}`;
  assert.deepEqual(json(files.get('manifest.json')), [
    { Config: blob(art.image.manifest.config.digest), RepoTags: ['hello:1.0'], Layers: art.image.layers.map((l) => blob(l.descriptor.digest)) },
  ]);
  assert.deepEqual(json(files.get('oci-layout')), { imageLayoutVersion: '1.0.0' });
  const index = json(files.get('index.json')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  assert.equal(index.manifests[0]?.digest, art.image.digest);
  assert.deepEqual(index.manifests[0]?.annotations, { 'io.containerd.image.name': 'docker.io/library/hello:1.0', 'org.opencontainers.image.ref.name': '1.0' });
  for (const [name, bytes] of files) {
    if (name.startsWith('blobs/sha256/')) assert.equal(sha256(bytes), `sha256:${name.slice('blobs/sha256/'.length)}`);
  }
});

test('readTarball reads back what writeTarball wrote', async () => {
  const file = join(await tmp(), 'image.tar');
  const art = await tinyImage();
  if (art.kind !== 'image') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: ['hello:1.0'] });
  const back = await readTarball(file);
  if (back.kind !== 'image') throw new Error(`read back a ${back.kind}`);
  assert.equal(back.image.digest, art.image.digest);
  assert.deepEqual(
    back.image.layers.map((l) => l.descriptor),
    art.image.layers.map((l) => l.descriptor),
  );
  for (const [i, l] of back.image.layers.entries()) {
    assert.deepEqual(await bytesOf(await l.open()), await bytesOf(await (art.image.layers[i] as Layer).open()));
  }
  await assertValidArtifact(back, 'the image read back from the tarball');
});

test('an index goes whole into index.json; manifest.json describes the chosen platform', async () => {
  const file = join(await tmp(), 'multi.tar');
  const art = await tinyIndex();
  if (art.kind !== 'index') throw new Error('fixture');
  await writeTarball(file, art, { repoTags: ['multi:1'], platform: { os: 'linux', architecture: 'arm64' } });
  const files = await filesOf(file);
  const arm = art.index.images[1];
  assert.ok(arm);
  const manifest = json(files.get('manifest.json')) as { Config: string }[];
  assert.equal(manifest[0]?.Config, `blobs/sha256/${digestHex(arm.manifest.config.digest)}`);
  assert.equal([...files.keys()].filter((n) => n.startsWith('blobs/sha256/')).length, 8);
  const back = await readTarball(file);
  if (back.kind !== 'index') throw new Error(`read back a ${back.kind}`);
  assert.equal(back.index.digest, art.index.digest);
  await assertValidArtifact(back, 'the index read back from the tarball');

  await assert.rejects(
    writeTarball(join(dirname(file), 'x.tar'), art, { repoTags: [], platform: { os: 'linux', architecture: 's390x' } }),
    (e: Error & { code?: string }) => e.code === 'SHALE_NO_SUCH_PLATFORM' && e.message.includes('linux/amd64, linux/arm64'),
  );
});

test('a failed write leaves no file at the target and the old file intact', async () => {
  const dir = await tmp();
  const file = join(dir, 'image.tar');
  const good = await makeLayer('app', { 'a.txt': 'a' });
  await assert.rejects(
    writeTarball(file, { kind: 'image', image: makeImage([good, failingLayer()]) }, { repoTags: ['x:1'] }),
    /writing layer broken .*could not be built/,
  );
  assert.equal(existsSync(file), false);
  assert.deepEqual(await readdir(dir), []);

  await writeFile(file, 'old');
  await assert.rejects(writeTarball(file, { kind: 'image', image: makeImage([failingLayer()]) }, { repoTags: ['x:1'] }));
  assert.equal(await readFile(file, 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['image.tar']);
});

test('readTarball reads a classic docker-archive (manifest.json only, plain tar layers, linked duplicates)', async () => {
  const dir = await tmp();
  const file = join(dir, 'classic.tar');
  const layerTar = await tarOf({ 'etc/os-release': 'ID=test\n' });
  const diffId = sha256(layerTar);
  const config = canonicalBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId, diffId] } });
  const manifest = Buffer.from(JSON.stringify([{ Config: 'abc.json', RepoTags: ['old:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]));
  const pack = tarPack();
  const writing = pipeline(pack as AsyncIterable<Buffer>, createWriteStream(file));
  pack.entry({ name: 'abc.json', size: config.length }, config);
  pack.entry({ name: 'l1/layer.tar', size: layerTar.length }, layerTar);
  pack.entry({ name: 'l2/layer.tar', type: 'symlink', linkname: '../l1/layer.tar' });
  pack.entry({ name: 'manifest.json', size: manifest.length }, manifest);
  pack.finalize();
  await writing;

  const back = await readTarball(file);
  if (back.kind !== 'image') throw new Error(`read back a ${back.kind}`);
  assert.deepEqual(
    back.image.layers.map((l) => [l.descriptor.mediaType, l.descriptor.digest, l.diffId]),
    [
      ['application/vnd.oci.image.layer.v1.tar', diffId, diffId],
      ['application/vnd.oci.image.layer.v1.tar', diffId, diffId],
    ],
  );
  assert.deepEqual(await bytesOf(await (back.image.layers[1] as Layer).open()), layerTar);
  assert.equal(back.image.manifest.config.digest, sha256(config));
  await assert.rejects(readTarball(file, 'nope:1'), { code: 'SHALE_REF_NOT_FOUND' });
});

test('readTarball finds entries behind long (PAX) names at the right offset', async () => {
  const dir = await tmp();
  const file = join(dir, 'long.tar');
  const layerTar = await tarOf({ 'x.txt': 'x' });
  const config = canonicalBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] } });
  const longName = `${'d'.repeat(120)}/${'f'.repeat(120)}/layer.tar`;
  const manifest = Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: [longName] }]));
  const pack = tarPack();
  const writing = pipeline(pack as AsyncIterable<Buffer>, createWriteStream(file));
  pack.entry({ name: 'c.json', size: config.length }, config);
  pack.entry({ name: longName, size: layerTar.length }, layerTar);
  pack.entry({ name: 'manifest.json', size: manifest.length }, manifest);
  pack.finalize();
  await writing;
  const back = await readTarball(file);
  if (back.kind !== 'image') throw new Error('kind');
  assert.deepEqual(await bytesOf(await (back.image.layers[0] as Layer).open()), layerTar);
});

test('readTarball explains a file that is not an image archive', async () => {
  const dir = await tmp();
  const file = join(dir, 'x.tar');
  await writeFile(file, await tarOf({ 'hello.txt': 'hi' }));
  await assert.rejects(readTarball(file), { code: 'SHALE_NOT_AN_IMAGE_TAR' });
  await writeFile(file, 'not a tar at all, just some text that is long enough to be a header? no.'.repeat(10));
  await assert.rejects(readTarball(file), { code: 'SHALE_BAD_TAR' });
});

test('large layers stream through the tarball and back (backpressure, blobs not kept in memory)', async () => {
  const dir = await tmp();
  const file = join(dir, 'big.tar');
  const content: Record<string, string> = {};
  for (let i = 0; i < 3; i++) content[`data/${i}.bin`] = randomBytes(3 * 1024 * 1024).toString('base64');
  const big = await makeLayer('big', content);
  assert.ok(big.descriptor.size > 4 * 1024 * 1024);
  const image = makeImage([big]);
  await writeTarball(file, { kind: 'image', image }, { repoTags: ['big:1'] });
  const back = await readTarball(file);
  if (back.kind !== 'image') throw new Error('kind');
  const layer = back.image.layers[0] as Layer;
  assert.equal(sha256(await bytesOf(await layer.open())), big.descriptor.digest);
});
