import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseAge, parseSize } from '../../../src/cli/cache-command.js';
import { cacheUsage, pruneCache, sweepStaleTemps } from '../../../src/store/cache-prune.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { FingerprintIndex } from '../../../src/store/fingerprint-index.js';
import { MediaType } from '../../../src/oci/types.js';

const DAY = 86_400_000;
const NOW = Date.now();

/** A pid that ran and has ended. */
const deadPid = (): number => spawnSync('true').pid!;

async function setAge(path: string, days: number): Promise<void> {
  const t = new Date(NOW - days * DAY);
  await utimes(path, t, t);
}

/** A cache with three layer blobs (used 1, 40 and 90 days ago, indexed), two wheels, a built wheel and temp files. */
async function fixture(): Promise<{ dir: string; blobs: FsBlobStore; digests: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-prune-'));
  const blobs = new FsBlobStore(dir);
  const index = new FingerprintIndex(dir, blobs);
  const digests: string[] = [];
  for (const [i, days] of [1, 40, 90].entries()) {
    const w = await blobs.put(Readable.from([Buffer.alloc(1000 * (i + 1), i)]));
    await index.set(`fp-${i}`, { descriptor: { mediaType: MediaType.OciLayerGzip, digest: w.digest, size: w.size }, diffId: w.digest, name: `l${i}` });
    await setAge(blobs.path(w.digest), days);
    digests.push(w.digest);
  }
  for (const [sha, days] of [
    ['a'.repeat(64), 2],
    ['b'.repeat(64), 60],
  ] as const) {
    await mkdir(join(dir, 'wheels', sha), { recursive: true });
    const f = join(dir, 'wheels', sha, `p_${sha[0]}-1.0-py3-none-any.whl`);
    await writeFile(f, Buffer.alloc(500));
    await setAge(f, days);
  }
  await mkdir(join(dir, 'built-wheels', 'c'.repeat(64)), { recursive: true });
  await writeFile(join(dir, 'built-wheels', 'c'.repeat(64), 'x-1.0-py3-none-any.whl'), Buffer.alloc(200));
  // A dead build's half-written blob, a running build's (ours), and a dead build's index entry.
  await writeFile(join(dir, 'blobs', 'sha256', `.tmp-incoming-${deadPid()}-0123456789ab`), Buffer.alloc(4000));
  await writeFile(join(dir, 'blobs', 'sha256', `.tmp-incoming-${process.pid}-0123456789ab`), Buffer.alloc(3000));
  await writeFile(join(dir, 'index', `.tmp-${'d'.repeat(64)}.json-${deadPid()}-ba9876543210`), '{');
  return { dir, blobs, digests };
}

test('cache info counts items by kind, metadata, and temp files of builds that ended', async () => {
  const { dir } = await fixture();
  try {
    const u = await cacheUsage(dir, NOW);
    assert.deepEqual([u.kinds.layers.files, u.kinds.layers.bytes], [3, 6000]);
    assert.deepEqual([u.kinds.wheels.files, u.kinds.wheels.bytes], [2, 1000]);
    assert.deepEqual([u.kinds['built-wheels'].files, u.kinds['built-wheels'].bytes], [1, 200]);
    assert.equal(u.stale.files, 2); // ours is still running
    assert.equal(u.metadata.files, 3); // the index entries
    assert.ok(u.kinds.layers.oldestUse! < NOW - 89 * DAY);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prune removes what was unused for the age given, and stale temp files; a dry run removes nothing', async () => {
  const { dir, blobs, digests } = await fixture();
  try {
    const dry = await pruneCache(dir, { unusedForMs: 30 * DAY, dryRun: true, now: NOW });
    assert.equal(dry.removed.layers.files, 2);
    assert.equal((await readdir(join(dir, 'blobs', 'sha256'))).length, 5);

    const r = await pruneCache(dir, { unusedForMs: 30 * DAY, now: NOW });
    assert.deepEqual([r.removed.layers.files, r.removed.wheels.files, r.removed['built-wheels'].files], [2, 1, 0]);
    assert.equal(r.removed.stale.files, 2);
    assert.equal(r.removed.orphanIndexEntries, 2);
    assert.equal(await blobs.has(digests[0] as never), true);
    assert.equal(await blobs.has(digests[1] as never), false);
    const left = await readdir(join(dir, 'blobs', 'sha256'));
    assert.ok(
      left.some((n) => n.includes(`-${process.pid}-`)),
      'a running build keeps its temp file',
    );
    assert.equal((await readdir(join(dir, 'index'))).length, 1);
    // The surviving index entry still resolves.
    assert.ok(await new FingerprintIndex(dir, blobs).get('fp-0'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('prune to a size removes the least recently used first, never what was used in the grace period', async () => {
  const { dir, blobs, digests } = await fixture();
  try {
    const r = await pruneCache(dir, { maxBytes: 1700, now: NOW });
    // 7200 bytes of items: the 90-day blob (3000), the 60-day wheel (500) and the 40-day blob (2000) go.
    assert.deepEqual([r.removed.layers.files, r.removed.wheels.files], [2, 1]);
    assert.equal(r.kept.bytes, 1700);
    assert.equal(await blobs.has(digests[0] as never), true);
    assert.equal(await blobs.has(digests[2] as never), false);
    await setAge(blobs.path(digests[0] as never), 0);
    const all = await pruneCache(dir, { maxBytes: 0, now: Date.now() });
    assert.equal(await blobs.has(digests[0] as never), true, 'just used: kept');
    // The blob and the built wheel (written a moment ago) are within the grace period.
    assert.deepEqual([all.kept.files, all.kept.bytes], [2, 1200]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sizes and ages on the command line', () => {
  assert.equal(parseSize('--max-size', '5GB'), 5e9);
  assert.equal(parseSize('--max-size', '2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('--max-size', '0'), 0);
  assert.throws(() => parseSize('--max-size', 'lots'), /--max-size: "lots" is not a size/);
  assert.equal(parseAge('--unused-for', '30d'), 30 * DAY);
  assert.equal(parseAge('--unused-for', '12h'), 12 * 3_600_000);
  assert.throws(() => parseAge('--unused-for', '30'), /is not an age/);
});

test('a layer reused from the cache counts as used now (the index lookup touches its blob)', async () => {
  const { dir, blobs, digests } = await fixture();
  try {
    assert.ok(await new FingerprintIndex(dir, blobs).get('fp-2')); // the 90-day-old one
    const r = await pruneCache(dir, { unusedForMs: 30 * DAY, now: Date.now() });
    assert.equal(await blobs.has(digests[2] as never), true);
    assert.equal(await blobs.has(digests[1] as never), false);
    assert.equal(r.removed.layers.files, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("after building, temp files of builds that died are swept; a running build's stay", async () => {
  const { dir } = await fixture();
  try {
    await mkdir(join(dir, 'wheels'), { recursive: true });
    await writeFile(join(dir, 'wheels', `.tmp-${deadPid()}-00aa11bb22cc`), Buffer.alloc(700));
    assert.equal(await sweepStaleTemps(dir), 4000 + 1 + 700);
    const blobsLeft = await readdir(join(dir, 'blobs', 'sha256'));
    assert.ok(blobsLeft.some((n) => n === `.tmp-incoming-${process.pid}-0123456789ab`));
    assert.equal(blobsLeft.filter((n) => n.startsWith('.tmp-')).length, 1);
    assert.deepEqual(
      (await readdir(join(dir, 'index'))).filter((n) => n.startsWith('.tmp-')),
      [],
    );
    assert.equal(await sweepStaleTemps(dir), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
