// What the cache says when a blob is corrupt, and `shale cache prune --unused-for 0`.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { parseAge } from '../../../src/cli/cache-command.js';
import { ShaleError } from '../../../src/errors.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { pruneCache } from '../../../src/store/cache-prune.js';
import { openTarFile } from '../../../src/image/tar-read.js';

const drain = async (s: Readable): Promise<void> => {
  for await (const _ of s) void _;
};

test('a corrupt cached blob says it was removed and will be written again, and points at no command that does not exist', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shale-corrupt-'));
  const store = new FsBlobStore(root);
  const w = await store.putBytes(Buffer.from('original content'));
  await writeFile(store.path(w.digest), 'tampered content');
  await assert.rejects(drain(await store.open(w.digest)), (e: unknown) => {
    assert.ok(e instanceof ShaleError && e.code === 'SHALE_BLOB_CORRUPT');
    assert.doesNotMatch(e.message, /cache check/);
    assert.match(
      e.message,
      new RegExp(
        `blob ${w.digest} in ${root} is corrupt: it hashes to sha256:[0-9a-f]{64}, not ${w.digest}; it has been removed, so the next build writes it again\\.$`,
      ),
    );
    return true;
  });
  // The removal finishes after the error; give it time on a busy machine (unit files run concurrently).
  for (let i = 0; i < 100 && (await store.has(w.digest)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await store.has(w.digest), false, 'removed, as the message says');
});

test('a tarball member that changed under the reader does not send the user to a cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-corrupt-tar-'));
  const archive = join(dir, 'a.tar');
  await writeFile(archive, 'tampered');
  const f = { name: 'blobs/sha256/x', start: 0, size: 8, digest: `sha256:${'0'.repeat(64)}` as const };
  await assert.rejects(drain(openTarFile(archive, f)), (e: unknown) => {
    assert.ok(e instanceof ShaleError && e.code === 'SHALE_BLOB_CORRUPT');
    assert.doesNotMatch(e.message, /cache/);
    assert.match(e.message, /the archive changed while shale read it/);
    return true;
  });
});

test('--unused-for takes 0, 0s and 0d (everything past the grace), and seconds; other bare numbers still need a unit', () => {
  for (const v of ['0', '0s', '0d', '0m', ' 0 ']) assert.equal(parseAge('--unused-for', v), 0, v);
  assert.equal(parseAge('--unused-for', '90s'), 90_000);
  assert.equal(parseAge('--unused-for', '12h'), 12 * 3_600_000);
  for (const v of ['5', 'soon', '-1d', '3y']) assert.throws(() => parseAge('--unused-for', v), { code: 'SHALE_BAD_FLAG' }, v);
});

test('pruning with --unused-for 0 removes what was not used in the last 10 minutes, and keeps the rest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-prune-0-'));
  const store = new FsBlobStore(dir);
  const now = Date.now();
  const old = await store.putBytes(Buffer.from('used an hour ago'));
  const fresh = await store.putBytes(Buffer.from('used a minute ago'));
  const at = (ms: number) => new Date(now - ms);
  await utimes(store.path(old.digest), at(3_600_000), at(3_600_000));
  await utimes(store.path(fresh.digest), at(60_000), at(60_000));
  const r = await pruneCache(dir, { unusedForMs: parseAge('--unused-for', '0s'), now });
  assert.equal(r.removed.layers.files, 1);
  assert.deepEqual(await readdir(join(dir, 'blobs', 'sha256')), [fresh.digest.slice(7)]);
});
