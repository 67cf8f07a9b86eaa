import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { digestHex, sha256 } from '../../../src/oci/digest.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { tmp } from '../publish/fixtures.js';
import { blobStoreContract } from './blob-store-contract.js';

blobStoreContract('FsBlobStore', async () => new FsBlobStore(await tmp()));

const read = async (s: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

/** Files in the blob directory other than finished blobs (temporary files a writer left). */
const leftovers = async (root: string): Promise<string[]> =>
  (await readdir(join(root, 'blobs', 'sha256')).catch(() => [])).filter((n) => !/^[a-f0-9]{64}$/.test(n));

test('FsBlobStore keeps blobs at root/blobs/sha256/<hex>', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const w = await store.putBytes(Buffer.from('x'));
  assert.equal(store.path(w.digest), join(root, 'blobs', 'sha256', digestHex(w.digest)));
  assert.equal(await readFile(store.path(w.digest), 'utf8'), 'x');
});

test('FsBlobStore rejects malformed digests instead of building a path from them', () => {
  const store = new FsBlobStore('/nowhere');
  assert.throws(() => store.path('sha256:../../etc/passwd' as `sha256:${string}`), { code: 'SHALE_BAD_DIGEST' });
});

test('FsBlobStore leaves no temporary file after a refused or failed write', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  await assert.rejects(store.put(Readable.from([Buffer.from('a')]), sha256('b')));
  const broken = new Readable({
    read() {
      this.destroy(new Error('boom'));
    },
  });
  await assert.rejects(store.put(broken));
  assert.deepEqual(await leftovers(root), []);
});

test('FsBlobStore: open detects a blob corrupted on disk, at the end of the read', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const w = await store.putBytes(Buffer.from('original content'));
  await writeFile(store.path(w.digest), 'tampered content');
  await assert.rejects(read(await store.open(w.digest)), { code: 'SHALE_BLOB_CORRUPT' });
});

test('FsBlobStore: verify reports ok, missing, and deletes a corrupt blob', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const good = await store.putBytes(Buffer.from('good'));
  const bad = await store.putBytes(Buffer.from('bad'));
  await writeFile(store.path(bad.digest), 'rotten');
  assert.equal(await store.verify(good.digest), 'ok');
  assert.equal(await store.verify(bad.digest), 'corrupt');
  assert.equal(await store.has(bad.digest), false);
  assert.equal(await store.verify(sha256('never stored')), 'missing');
});

test('FsBlobStore: a put of a blob already stored with the expected digest does not rewrite it', async () => {
  const root = await tmp();
  const store = new FsBlobStore(root);
  const w = await store.putBytes(Buffer.from('once'));
  let opened = false;
  const src = new Readable({
    read() {
      opened = true;
      this.push(null);
    },
  });
  assert.deepEqual(await store.put(src, w.digest), w);
  assert.equal(opened, false);
});

test('FsBlobStore: two processes writing the same blob at once both succeed', async () => {
  const root = await tmp();
  const content = join(root, 'content.bin');
  const data = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(content, data);
  const moduleUrl = new URL('../../../src/store/blob-store.js', import.meta.url).href;
  const script = `
    import { createReadStream } from 'node:fs';
    const { FsBlobStore } = await import(${JSON.stringify(moduleUrl)});
    const store = new FsBlobStore(process.argv[1]);
    for (let i = 0; i < 5; i++) {
      const w = await store.put(createReadStream(process.argv[2]));
      process.stdout.write(w.digest + '\\n');
    }`;
  const runOne = (): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', script, root, content], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.on('data', (c: Buffer) => (err += c.toString()));
      p.on('close', (code) => resolve({ code, out, err }));
    });
  const results = await Promise.all([runOne(), runOne()]);
  const store = new FsBlobStore(root);
  for (const r of results) {
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), Array(5).fill(sha256(data)));
  }
  assert.equal(await store.verify(sha256(data)), 'ok');
  assert.deepEqual(await leftovers(root), []);
});
