// End to end: shale builds the examples against a real registry (Debian's docker-registry), and
// independent tools (podman, skopeo, umoci) pull, load, read and run what it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { freePort, startRegistry } from './support/registry.js';
import { loadTar, podmanRun, skopeoInspect, umociStat, withImage } from './support/podman.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { startFaultProxy } from './support/fault-proxy.js';

const ctx = useRegistryWithBase();
const example = (name: string) => join(repoRoot(), 'examples', name);
const tmp = () => mkdtemp(join(tmpdir(), 'shale-e2e-'));

test('hello_python: pushed, pulled by podman, answers HTTP; base layers mounted, not uploaded', async () => {
  const ref = `${ctx.reg.host}/demo/hello-python:v1`;
  const out = await shaleJson(['build', example('hello_python'), '--push', ref], ctx.env);
  assert.match(out.digest, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(
    out.layers.map((l) => [l.name, l.source]),
    [
      ['base', 'base'],
      ['app', 'built'],
    ],
  );
  const base = out.layers.find((l) => l.source === 'base')!;
  assert.ok(out.pushed.bytes < base.size / 100, `pushed ${out.pushed.bytes} bytes; the base layer (${base.size}) must be mounted, not uploaded`);
  const inspect = await skopeoInspect(ref);
  assert.equal(inspect.Digest, out.digest);
  const port = await freePort();
  await withImage(ref, { port }, async (c) => {
    const res = await fetch(`${c.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /hello from shale/);
  });
});

test('hello_python: the --tar output loads into podman and runs; the OCI layout reads with skopeo and umoci', async () => {
  const dir = await tmp();
  const tarFile = join(dir, 'hello.tar');
  const layout = join(dir, 'layout');
  const a = await shaleJson(['build', example('hello_python'), '--tar', tarFile], ctx.env);
  const b = await shaleJson(['build', example('hello_python'), '--oci', layout], ctx.env);
  assert.equal(a.digest, b.digest, 'the tarball and the layout hold the same image');
  const loaded = await loadTar(tarFile);
  const name = loaded[0] ?? assert.fail('podman load named no image');
  const port = await freePort();
  await withImage(name, { port, pull: 'never' }, async (c) => {
    assert.match(await (await fetch(`${c.url}/`)).text(), /hello from shale/);
  });
  const oci = await skopeoInspect(`oci:${layout}:latest`);
  assert.equal(oci.Digest, b.digest);
  assert.equal(oci.Layers.length, 2);
  const stat_ = await umociStat(layout, 'latest');
  assert.ok(
    stat_.history.some((h) => /shale: app/.test(h.created_by ?? '')),
    'history names the app layer',
  );
  await rm(dir, { recursive: true, force: true });
});

test('hello_fastapi: real wheels installed by shale import and serve with the image python', async () => {
  await run('sh', [join(example('hello_fastapi'), 'fetch-wheels.sh')]);
  const ref = `${ctx.reg.host}/demo/hello-fastapi:v1`;
  const out = await shaleJson(['build', example('hello_fastapi'), '--push', ref], ctx.env);
  assert.ok(
    out.layers.some((l) => l.name.startsWith('deps-pure-')),
    'third-party packages get their own layers',
  );
  assert.equal(out.layers.at(-1)?.name, 'app', 'the app layer is last');
  const port = await freePort();
  await withImage(ref, { port, args: ['--port', String(port)] }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as { message: string };
    assert.equal(body.message, 'hello from shale');
    const meta = await podmanRun(
      ref,
      [
        '-c',
        'import importlib.metadata as m; print(sorted(d.metadata["Name"].lower() for d in m.distributions() if (d.read_text("INSTALLER") or "").strip() == "shale"))',
      ],
      { entrypoint: ['python3'] },
    );
    for (const pkg of ['fastapi', 'starlette', 'uvicorn', 'pydantic', 'anyio']) assert.match(meta.stdout, new RegExp(`'${pkg}'`));
    const script = await podmanRun(ref, ['--version'], { entrypoint: ['uvicorn'] });
    assert.match(script.stdout, /uvicorn 0\.17\.6/);
  });
});

async function copyWithNewTimes(src: string, when: Date): Promise<string> {
  const dir = join(await tmp(), 'app');
  await cp(src, dir, { recursive: true, filter: (p) => !p.includes('.shale') });
  const touch = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await touch(p);
      await utimes(p, when, when);
    }
  };
  await touch(dir);
  return dir;
}

test('reproducible: the same inputs from other directories, mtimes and empty caches give the same digest', async () => {
  const a = await copyWithNewTimes(example('hello_fastapi'), new Date('2001-02-03T04:05:06Z'));
  const b = await copyWithNewTimes(example('hello_fastapi'), new Date());
  const ra = await shaleJson(['build', a], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const rb = await shaleJson(['build', b], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(ra.digest, rb.digest);
  assert.deepEqual(
    ra.layers.map((l) => l.digest),
    rb.layers.map((l) => l.digest),
  );
  const later = await shaleJson(['build', b], { ...ctx.env, SOURCE_DATE_EPOCH: '1700000000' });
  assert.notEqual(later.digest, rb.digest, 'SOURCE_DATE_EPOCH is an input');
  assert.ok((await stat(join(a, '.shale', 'image', 'index.json'))).isFile(), 'the default output is the OCI layout in DIR/.shale/image');
});

test('a push that fails does not move the tag', async () => {
  const ref = `${ctx.reg.host}/demo/tagged:live`;
  const first = await shaleJson(['build', example('hello_python'), '--push', ref], ctx.env);
  const app = await copyWithNewTimes(example('hello_python'), new Date());
  await cp(join(app, 'main.py'), join(app, 'extra.py'));
  // The same registry behind a proxy that refuses every blob upload: the new app layer cannot land.
  const proxy = await startFaultProxy(ctx.reg.host, [
    { method: 'PUT', path: /\/blobs\/uploads\//, status: 500 },
    { method: 'PATCH', path: /\/blobs\/uploads\//, status: 500 },
  ]);
  try {
    // A registry that never recovers: a short retry budget keeps the test quick.
    const failed = await shale(['build', app, '--push', `${proxy.host}/demo/tagged:live`], { ...ctx.env, SHALE_RETRY_BUDGET: '2' });
    assert.equal(failed.exitCode, 1, failed.stderr);
    assert.match(failed.stderr, /^error: .*blob/m);
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(failed.stdout, '');
    assert.ok(!proxy.log.some((r) => r.method === 'PUT' && r.path.includes('/manifests/')), 'no manifest was put');
  } finally {
    await proxy.stop();
  }
  assert.equal((await skopeoInspect(ref)).Digest, first.digest, 'the tag still names the first image');
});

test('a push to another registry than the base streams the base layers across; the image runs', async () => {
  const other = await startRegistry();
  try {
    const ref = `${other.host}/demo/hello-python:v1`;
    const cache = await freshCache();
    const out = await shaleJson(['build', example('hello_python'), '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: cache });
    const base = out.layers.find((l) => l.source === 'base')!;
    assert.ok(out.pushed.bytes >= base.size, `the base layer (${base.size} bytes) was sent to ${other.host}: pushed ${out.pushed.bytes}`);
    // Streamed, not stored: the local cache holds shale's own layers only.
    const cached = await readdir(join(cache, 'blobs', 'sha256'));
    assert.ok(!cached.includes(base.digest.slice(7)), 'the base layer never touched the local cache');
    const port = await freePort();
    await withImage(ref, { port }, async (c) => {
      assert.match(await (await fetch(`${c.url}/`)).text(), /hello from shale/);
    });
  } finally {
    await other.stop();
  }
});
