// The local cache under stress: two builds at once sharing it, and entries damaged on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, stat, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();
const app = () => join(repoRoot(), 'examples', 'hello_fastapi');

async function appLayerBlob(cache: string, digest: string): Promise<string> {
  const file = join(cache, 'blobs', 'sha256', digest.slice(7));
  assert.ok((await stat(file)).isFile(), `the app layer ${digest} is in the cache`);
  return file;
}

test('two builds sharing one cache at once both succeed with the same image', async () => {
  await run('sh', [join(app(), 'fetch-wheels.sh')]);
  const cache = await freshCache();
  const env = { ...ctx.env, SHALE_CACHE_DIR: cache };
  const [a, b] = await Promise.all([
    shaleJson(['build', app(), '--oci', join(cache, '..', `${cache.split('/').pop()}-a`)], env),
    shaleJson(['build', app(), '--oci', join(cache, '..', `${cache.split('/').pop()}-b`)], env),
  ]);
  assert.equal(a.digest, b.digest);
  const leftovers = (await readdir(join(cache, 'blobs', 'sha256'))).filter((n) => !/^[a-f0-9]{64}$/.test(n));
  assert.deepEqual(
    leftovers.filter((n) => n !== 'incoming'),
    [],
    'no temp files left in the blob store',
  );
});

test('a truncated cache entry is detected and rebuilt; a corrupted one is dropped and rebuilt', async () => {
  const cache = await freshCache();
  const env = { ...ctx.env, SHALE_CACHE_DIR: cache };
  const first = await shaleJson(['build', app(), '--oci', join(cache, '..', `${cache.split('/').pop()}-out`)], env);
  const appLayer = first.layers.find((l) => l.name === 'app')!;

  await truncate(await appLayerBlob(cache, appLayer.digest), 10);
  const afterTruncate = await shaleJson(['build', app(), '--tar', join(cache, '..', `${cache.split('/').pop()}.tar`)], env);
  assert.equal(afterTruncate.digest, first.digest);
  assert.equal(afterTruncate.layers.find((l) => l.name === 'app')?.source, 'built', 'the cut-short layer was built again');

  // Same size, other bytes: only hashing can tell. The read that notices removes the blob and
  // the build runs once more, so the output is still right.
  const fh = await open(await appLayerBlob(cache, appLayer.digest), 'r+');
  await fh.write(Buffer.from('corrupt!'), 0, 8, 100);
  await fh.close();
  const r = await shale(['build', app(), '--tar', join(cache, '..', `${cache.split('/').pop()}-2.tar`), '--json'], env);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /warning: .*corrupt.*building again/);
  assert.equal((JSON.parse(r.stdout) as { digest: string }).digest, first.digest);
});

test('shale cache info and prune: old layers go, the next build makes them again, the same image', async () => {
  const cache = await freshCache();
  const env = { ...ctx.env, SHALE_CACHE_DIR: cache };
  const out = join(cache, '..', `${cache.split('/').pop()}-prune`);
  const first = await shaleJson(['build', app(), '--oci', out], env);
  const info = JSON.parse((await shale(['cache', 'info', '--json'], env)).stdout) as { kinds: { layers: { files: number } } };
  assert.equal(info.kinds.layers.files, first.layers.filter((l) => l.source !== 'base').length, 'each built layer');

  // Forty days pass without a build: everything built then is old.
  const old = new Date(Date.now() - 40 * 86_400_000);
  const dir = join(cache, 'blobs', 'sha256');
  // Every item ages: layer blobs, and what the build learned about its wheels (metadata, file lists).
  for (const d of [dir, join(cache, 'metadata')]) for (const n of await readdir(d).catch(() => [])) await utimes(join(d, n), old, old);
  const dry = await shale(['cache', 'prune', '--dry-run'], env);
  assert.equal(dry.exitCode, 0, dry.stderr);
  assert.match(dry.stdout, /would remove layers \d+/);
  const pruned = await shale(['cache', 'prune', '--unused-for', '30d'], env);
  assert.match(pruned.stdout, /removed layers \d+ \(.*\); kept 0/);
  assert.deepEqual(
    (await readdir(dir)).filter((n) => /^[a-f0-9]{64}$/.test(n)),
    [],
  );

  const again = await shaleJson(['build', app(), '--oci', out], env);
  assert.equal(again.digest, first.digest);
  assert.ok(
    again.layers.filter((l) => l.source !== 'base').every((l) => l.source === 'built'),
    'rebuilt, not read from a dangling index entry',
  );
  const bad = await shale(['cache', 'prune', '--max-size', 'big'], env);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--max-size: "big" is not a size/);
});
