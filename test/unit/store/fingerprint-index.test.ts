import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { MediaType } from '../../../src/oci/types.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { FingerprintIndex, type IndexedLayer } from '../../../src/store/fingerprint-index.js';
import { cachedLayer } from '../../../src/store/stored-layer.js';
import { bytesOf, tmp } from '../publish/fixtures.js';

async function setup(): Promise<{ store: FsBlobStore; index: FingerprintIndex; entry: IndexedLayer }> {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const w = await store.putBytes(Buffer.from('layer bytes'));
  const entry: IndexedLayer = {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: w.digest, size: w.size, annotations: { 'dev.shale.layer.name': 'app' } },
    diffId: `sha256:${'1'.repeat(64)}`,
    name: 'app',
  };
  return { store, index: new FingerprintIndex(root, store), entry };
}

test('FingerprintIndex returns what was set for a fingerprint', async () => {
  const { index, entry } = await setup();
  await index.set('fp-1', entry);
  assert.deepEqual(await index.get('fp-1'), entry);
});

test('FingerprintIndex: an unknown fingerprint is a miss', async () => {
  const { index } = await setup();
  assert.equal(await index.get('never set'), undefined);
});

test('FingerprintIndex: an entry whose blob is gone is a miss', async () => {
  const { store, index, entry } = await setup();
  await index.set('fp-1', entry);
  await rm(store.path(entry.descriptor.digest));
  assert.equal(await index.get('fp-1'), undefined);
});

test('FingerprintIndex: a damaged entry file is a miss, not an error', async () => {
  const { index, entry } = await setup();
  await index.set('fp-1', entry);
  await writeFile(index.path('fp-1'), '{"format":1, "fingerp');
  assert.equal(await index.get('fp-1'), undefined);
  await writeFile(index.path('fp-1'), JSON.stringify({ format: 1, fingerprint: 'fp-1', name: 'app', diffId: 'nope', descriptor: entry.descriptor }));
  assert.equal(await index.get('fp-1'), undefined);
});

test('FingerprintIndex: an entry recorded for another fingerprint is a miss', async () => {
  const { index, entry } = await setup();
  await index.set('fp-1', entry);
  const text = await readFile(index.path('fp-1'), 'utf8');
  await writeFile(index.path('fp-2'), text);
  assert.equal(await index.get('fp-2'), undefined);
});

test('cachedLayer opens the stored blob, under the descriptor the index recorded', async () => {
  const { store, entry } = await setup();
  const layer = cachedLayer(store, entry);
  assert.deepEqual([layer.descriptor, layer.diffId], [entry.descriptor, entry.diffId]);
  assert.equal((await bytesOf(await layer.open())).toString(), 'layer bytes');
});
