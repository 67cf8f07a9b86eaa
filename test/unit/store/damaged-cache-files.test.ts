// Cache files a crash or a full disk damaged: every reader treats them as missing, warns once
// per file, and the next write replaces them.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { MediaType } from '../../../src/oci/types.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { Cache } from '../../../src/store/cache.js';
import { FingerprintIndex, type IndexedLayer } from '../../../src/store/fingerprint-index.js';
import { LayerRecords } from '../../../src/store/layer-records.js';
import { tmp } from '../publish/fixtures.js';

/** The three kinds of damage: nothing, a file cut short, and bytes that were never JSON. */
const DAMAGE: Record<string, string> = {
  empty: '',
  truncated: '{"format":1,"fingerprint":"fp","descr',
  garbage: '\u0000\u0000\u0000\u0007PK\u0003\u0004 not json at all',
};

/** Collects warn-level log events. */
function warnings(): { events: (e: ShaleEvent) => void; said: string[] } {
  const said: string[] = [];
  return { said, events: (e) => void (e.type === 'log' && e.level === 'warn' && said.push(e.message)) };
}

for (const [kind, text] of Object.entries(DAMAGE)) {
  describe(`a ${kind} cache file`, () => {
    test('file-hashes.json is read as empty, warned about once, and rewritten', async () => {
      const cache = await tmp();
      const file = join(cache, 'file-hashes.json');
      await writeFile(file, text);
      const src = join(cache, 'source.txt');
      await writeFile(src, 'hello');
      const w = warnings();
      const hashes = Cache.open(cache, w.events).hashes;
      const got = await hashes.hash(src);
      assert.equal(got.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      await hashes.hash(src);
      assert.equal(w.said.length, 1, w.said.join('\n'));
      assert.match(w.said[0]!, new RegExp(`damaged file-hash cache ${file.replace(/[/.]/g, '\\$&')} \\(`));
      assert.match(w.said[0]!, /treated as missing and written anew/);
      await hashes.save();
      const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, { sha256: string }>;
      assert.equal(saved[src]?.sha256, got.sha256, 'rewritten with what this run learned');
    });

    test('a fingerprint index entry is a miss, warned about once, and rewritten by set', async () => {
      const root = await tmp();
      const store = new FsBlobStore(root);
      const w = warnings();
      const index = new FingerprintIndex(root, store, w.events);
      const blob = await store.putBytes(Buffer.from('layer bytes'));
      const entry: IndexedLayer = { descriptor: { mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size }, diffId: blob.digest, name: 'app' };
      await mkdir(join(root, 'index'), { recursive: true });
      await writeFile(index.path('fp'), text);
      assert.equal(await index.get('fp'), undefined);
      assert.equal(await index.get('fp'), undefined);
      assert.equal(w.said.length, 1, w.said.join('\n'));
      assert.ok(w.said[0]!.includes(index.path('fp')), w.said[0]);
      await index.set('fp', entry);
      assert.deepEqual(await index.get('fp'), entry);
      assert.equal(w.said.length, 1);
    });

    test('a layer record is absent, warned about once, and rewritten by set', async () => {
      const root = await tmp();
      const w = warnings();
      const records = new LayerRecords(root, w.events);
      const key = ['/project', 'linux/amd64', 'app'];
      await records.set(key, { kind: 'app' });
      const [name] = await readdir(join(root, 'records'));
      const file = join(root, 'records', name!);
      await writeFile(file, text);
      assert.equal(await records.get(key), undefined);
      assert.equal(await records.get(key), undefined);
      assert.equal(w.said.length, 1, w.said.join('\n'));
      assert.ok(w.said[0]!.includes(file), w.said[0]);
      await records.set(key, { kind: 'app', files: 2 });
      assert.deepEqual(await records.get(key), { kind: 'app', files: 2 });
    });
  });
}

test('file-hashes.json that is JSON but not a map of {key, sha256} is damage too, keeping the good entries', async () => {
  for (const text of ['null', '[1,2]', '"text"', '7']) {
    const cache = await tmp();
    await writeFile(join(cache, 'file-hashes.json'), text);
    const src = join(cache, 'a');
    await writeFile(src, 'a');
    const w = warnings();
    await Cache.open(cache, w.events).hashes.hash(src);
    assert.equal(w.said.length, 1, `${text}: ${w.said.join('\n')}`);
  }
  const cache = await tmp();
  const src = join(cache, 'a');
  await writeFile(src, 'a');
  await writeFile(join(cache, 'file-hashes.json'), JSON.stringify({ '/elsewhere': { key: 'k', sha256: 'f'.repeat(64) }, '/bad': 5 }));
  const w = warnings();
  const hashes = Cache.open(cache, w.events).hashes;
  await hashes.hash(src);
  await hashes.save();
  assert.equal(w.said.length, 1);
  assert.match(w.said[0]!, /1 of its entries/);
  const saved = JSON.parse(await readFile(join(cache, 'file-hashes.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(saved).sort(), ['/elsewhere', src].sort());
});

test('one run warns once about a damaged file-hashes.json, whichever of its readers meets it first', async () => {
  const cache = await tmp();
  await writeFile(join(cache, 'file-hashes.json'), '');
  const src = join(cache, 'a');
  await writeFile(src, 'a');
  const w = warnings();
  const run = Cache.open(cache, w.events);
  await run.hashes.hash(src); // a resolver hashing a local wheel
  await run.hashes.hash(join(cache, 'file-hashes.json')); // the planner hashing the app
  assert.equal(w.said.length, 1);
});

test('an index entry of an older format or for another fingerprint is a quiet miss, not damage', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const w = warnings();
  const index = new FingerprintIndex(root, store, w.events);
  await mkdir(join(root, 'index'), { recursive: true });
  await writeFile(index.path('old'), JSON.stringify({ format: 0, fingerprint: 'old' }));
  await writeFile(index.path('other'), JSON.stringify({ format: 1, fingerprint: 'not this one', name: 'x' }));
  assert.equal(await index.get('old'), undefined);
  assert.equal(await index.get('other'), undefined);
  assert.deepEqual(w.said, []);
});

test('a directory where an index entry should be is a miss, not a crash', async () => {
  const root = await tmp();
  const w = warnings();
  const index = new FingerprintIndex(root, new FsBlobStore(root), w.events);
  await mkdir(index.path('fp'), { recursive: true });
  assert.equal(await index.get('fp'), undefined);
  assert.equal(w.said.length, 1);
});
