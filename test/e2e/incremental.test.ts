// Incremental builds: a one-line change rebuilds and uploads one layer, on a laptop with a warm
// cache and on a fresh CI runner whose only cache is the registry (real docker-registry).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { freePort } from './support/registry.js';
import { withImage } from './support/podman.js';
import { freshCache, shale, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();
let app: string;

before(async () => {
  const src = join(repoRoot(), 'examples', 'hello_fastapi');
  await run('sh', [join(src, 'fetch-wheels.sh')]);
  app = join(await mkdtemp(join(tmpdir(), 'shale-incr-')), 'app');
  await cp(src, app, { recursive: true, filter: (p) => !p.includes('.shale') });
});
after(async () => {
  await rm(join(app, '..'), { recursive: true, force: true });
});

test('a fresh runner reuses every unchanged layer from the registry and uploads only the changed one', async () => {
  const ref = `${ctx.reg.host}/demo/incr:main`;
  const first = await shaleJson(['build', app, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  await appendFile(join(app, 'main.py'), '\n# a one-line change\n');
  const fresh = await shaleJson(['build', app, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const ours = fresh.layers.filter((l) => l.source !== 'base');
  assert.deepEqual(
    ours.filter((l) => l.source === 'built').map((l) => l.name),
    ['app'],
  );
  assert.ok(
    ours.filter((l) => l.name !== 'app').every((l) => l.source === 'registry'),
    JSON.stringify(ours),
  );
  const appLayer = ours.find((l) => l.name === 'app')!;
  // The app layer, its config and the manifest; nothing else crosses the wire.
  assert.equal(fresh.pushed.blobs, 2, 'the app layer and the config');
  assert.ok(fresh.pushed.bytes <= appLayer.size * 1.2 + 8192, `pushed ${fresh.pushed.bytes} bytes for a ${appLayer.size}-byte layer`);
  assert.notEqual(fresh.digest, first.digest);
  for (const l of first.layers.filter((x) => x.name !== 'app')) {
    assert.equal(fresh.layers.find((x) => x.name === l.name)?.digest, l.digest, `${l.name} is the same blob`);
  }
  const port = await freePort();
  await withImage(ref, { port, args: ['--port', String(port)] }, async (c) => {
    assert.equal(((await (await fetch(`${c.url}/`)).json()) as { message: string }).message, 'hello from shale');
  });
});

test('--explain names the input that changed; a no-op rebuild reuses everything', async () => {
  const cache = await freshCache();
  await shaleJson(['build', app], { ...ctx.env, SHALE_CACHE_DIR: cache });
  await appendFile(join(app, 'main.py'), '\n# another change\n');
  const r = await shale(['build', app, '--explain'], { ...ctx.env, SHALE_CACHE_DIR: cache });
  assert.equal(r.exitCode, 0, r.stderr);
  // Named by its project path (the app directory goes to /app).
  assert.match(r.stderr, /^app: rebuilt, main\.py changed$/m);
  assert.match(r.stderr, /^deps-(pure|native)-\d+: reused from the local cache$/m);
  // The layers are gone from the cache but their inputs did not change: that is what is said.
  await rm(join(cache, 'index'), { recursive: true, force: true });
  await rm(join(cache, 'blobs'), { recursive: true, force: true });
  const wiped = await shale(['build', app, '--explain'], { ...ctx.env, SHALE_CACHE_DIR: cache });
  assert.equal(wiped.exitCode, 0, wiped.stderr);
  assert.match(wiped.stderr, /^app: rebuilt, inputs unchanged but the layer was not in the local cache or the registry$/m);
  assert.doesNotMatch(wiped.stderr, /inputs changed/);
  const noop = await shaleJson(['build', app], { ...ctx.env, SHALE_CACHE_DIR: cache });
  assert.ok(noop.layers.every((l) => l.source === 'base' || l.source === 'cache'));
  const forced = await shaleJson(['build', app, '--no-cache'], { ...ctx.env, SHALE_CACHE_DIR: cache });
  assert.ok(forced.layers.filter((l) => l.source !== 'base').every((l) => l.source === 'built'));
  assert.equal(forced.digest, noop.digest, 'a forced rebuild makes the same bytes');
});

test('a tarball from a fresh runner streams reused layers from the registry', async () => {
  const ref = `${ctx.reg.host}/demo/incr:main`;
  const dir = await mkdtemp(join(tmpdir(), 'shale-incr-tar-'));
  const out = await shaleJson(['build', app, '--push', ref, '--tar', join(dir, 'img.tar')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.ok(out.layers.some((l) => l.source === 'registry'));
  const listed = await run('tar', ['-tf', join(dir, 'img.tar')]);
  for (const l of out.layers) assert.match(listed.stdout, new RegExp(`blobs/sha256/${l.digest.slice(7)}`));
  await rm(dir, { recursive: true, force: true });
});

test('shale diff: after a one-line change the images share every layer but the app', async () => {
  const cache = await freshCache();
  const dir = await mkdtemp(join(tmpdir(), 'shale-diff-'));
  const a = await shaleJson(['build', app, '--oci', join(dir, 'a')], { ...ctx.env, SHALE_CACHE_DIR: cache });
  await appendFile(join(app, 'main.py'), '\n# a change for diff\n');
  const b = await shaleJson(['build', app, '--oci', join(dir, 'b')], { ...ctx.env, SHALE_CACHE_DIR: cache });
  const r = await shale(['diff', join(dir, 'a'), join(dir, 'b'), '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const [d] = (JSON.parse(r.stdout) as { platforms: { layers: { name: string; where: string; size: number }[]; pullBytes: number }[] }).platforms;
  const changed = d!.layers
    .filter((l) => l.where !== 'both')
    .map((l) => `${l.where}:${l.name}`)
    .sort();
  assert.deepEqual(changed, ['a:app', 'b:app']);
  const newApp = b.layers.find((l) => l.name === 'app')!;
  assert.ok(d!.pullBytes > newApp.size && d!.pullBytes < newApp.size + 16384, `a pull moves the app layer, config and manifest (${d!.pullBytes})`);
  assert.equal(a.layers.length, b.layers.length);
  const text = await shale(['diff', join(dir, 'a'), join(dir, 'b')]);
  assert.match(text.stdout, /^\+\s+app\s/m);
  assert.match(text.stdout, /a pull of B after A moves/);
  await rm(dir, { recursive: true, force: true });
});
