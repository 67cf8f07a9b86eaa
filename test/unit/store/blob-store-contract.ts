/**
 * The contract every BlobStore keeps (unstorage-style: one suite, run against each driver).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { sha256 } from '../../../src/oci/digest.js';
import type { BlobStore } from '../../../src/store/blob-store.js';

const read = async (s: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/** Registers the contract tests for a store made fresh by `make` for each test. */
export function blobStoreContract(driver: string, make: () => Promise<BlobStore>): void {
  test(`${driver}: put, has and open round-trip a blob`, async () => {
    const store = await make();
    const data = Buffer.from('hello blob');
    assert.equal(await store.has(sha256(data)), false);
    const w = await store.put(Readable.from([data]));
    assert.deepEqual(w, { digest: sha256(data), size: data.length });
    assert.equal(await store.has(w.digest), true);
    assert.deepEqual(await read(await store.open(w.digest)), data);
  });

  test(`${driver}: putBytes stores bytes under their digest`, async () => {
    const store = await make();
    const w = await store.putBytes(Buffer.from('{}'));
    assert.equal(w.digest, sha256('{}'));
    assert.equal(w.size, 2);
    assert.equal(await store.has(w.digest), true);
  });

  test(`${driver}: content that does not match the expected digest is refused and not stored`, async () => {
    const store = await make();
    const expect = sha256('what was promised');
    await assert.rejects(store.put(Readable.from([Buffer.from('something else')]), expect), { code: 'SHALE_DIGEST_MISMATCH' });
    assert.equal(await store.has(expect), false);
    assert.equal(await store.has(sha256('something else')), false);
  });

  test(`${driver}: opening a missing blob says which`, async () => {
    const store = await make();
    const d = sha256('absent');
    await assert.rejects(store.open(d), (err: Error & { code?: string }) => err.code === 'SHALE_BLOB_NOT_FOUND' && err.message.includes(d));
  });

  test(`${driver}: concurrent puts of the same content both succeed`, async () => {
    const store = await make();
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const results = await Promise.all([1, 2, 3].map(() => store.put(Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]))));
    for (const r of results) assert.equal(r.digest, sha256(data));
    assert.deepEqual(await read(await store.open(sha256(data))), data);
  });

  test(`${driver}: a source that fails makes put fail with its error`, async () => {
    const store = await make();
    const src = new Readable({
      read() {
        this.destroy(new Error('source broke'));
      },
    });
    await assert.rejects(store.put(src), /source broke/);
  });
}
