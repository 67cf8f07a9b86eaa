// End to end: the base's C library decides which manylinux wheels fit. The test base (Debian
// bookworm, glibc 2.36) is read as "glibc 2.36" from its layer, so cryptography's real
// cp311-abi3-manylinux_2_34 wheel (repacked from this machine's Python) is chosen, installed and
// runs; the image records `dev.shale.base.libc`, so a fresh runner pushing the next build to the
// same repository never downloads the base layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { podmanRun, removeImages, skopeoRawManifest } from './support/podman.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { startFaultProxy } from './support/fault-proxy.js';

const ctx = useRegistryWithBase();

const MAIN = `from cryptography.fernet import Fernet
f = Fernet(Fernet.generate_key())
print(f.decrypt(f.encrypt(b"sealed")).decode())
`;

async function cryptoApp(extra = ''): Promise<string> {
  const wheels = await ensureRepackedWheels(['cryptography', 'cffi', 'pycparser']);
  const dir = await mkdtemp(join(tmpdir(), 'shale-libc-'));
  await mkdir(join(dir, 'wheels'));
  for (const w of await readdir(wheels.dir)) if (w.endsWith('.whl')) await copyFile(join(wheels.dir, w), join(dir, 'wheels', w));
  await copyFile(wheels.requirements, join(dir, 'requirements.txt'));
  await writeFile(join(dir, 'main.py'), MAIN);
  await writeFile(
    join(dir, 'pyproject.toml'),
    `[tool.shale]\nname = "crypto"\ndomain = "demo"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\nfind-links = ["wheels"]\nno-index = true\nexclude = ["wheels/"]\n${extra}`,
  );
  return dir;
}

test('glibc 2.36 read from the base: the manylinux_2_34 wheel is chosen and runs; a fresh runner never downloads the base', async () => {
  const dir = await cryptoApp();
  const wheel = (await readdir(join(dir, 'wheels'))).find((w) => w.startsWith('cryptography-'));
  assert.match(wheel ?? '', /manylinux_2_34_x86_64\.whl$/, 'the fixture is the real manylinux_2_34 wheel');
  const proxy = await startFaultProxy(ctx.reg.host, []);
  try {
    const env = { ...ctx.env, SHALE_REGISTRY_MIRRORS: `docker.io=${proxy.host}`, SHALE_CACHE_DIR: await freshCache() };
    const ref = `${proxy.host}/demo/crypto:v1`;
    const first = await shaleJson(['build', dir, '--push', ref], env);
    const baseLayer = first.layers.find((l) => l.source === 'base') ?? assert.fail('no base layer');
    const baseGets = () => proxy.log.filter((r) => r.method === 'GET' && r.path.includes(`/blobs/${baseLayer.digest}`));
    assert.ok(baseGets().length > 0, 'the first build read the base layer for its C library');
    const raw = await skopeoRawManifest(`${ctx.reg.host}/demo/crypto:v1`);
    const annotations = raw.json['annotations'] as Record<string, string>;
    assert.equal(annotations['dev.shale.base.libc'], 'glibc 2.36');

    const run = await podmanRun(`${ctx.reg.host}/demo/crypto:v1`, []);
    assert.equal(run.stdout.trim(), 'sealed');
    const tag = await podmanRun(
      `${ctx.reg.host}/demo/crypto:v1`,
      ['-c', 'import importlib.metadata as m; print(m.distribution("cryptography").read_text("WHEEL"))'],
      { entrypoint: ['python3'] },
    );
    assert.match(tag.stdout, /Tag: cp311-abi3-manylinux_2_34_x86_64/);

    // A fresh runner (empty cache) builds the same app again: the C library comes from the
    // annotation on the image it pushes over, every layer from the registry, nothing downloaded.
    proxy.log.length = 0;
    const second = await shaleJson(['build', dir, '--push', ref], { ...env, SHALE_CACHE_DIR: await freshCache() });
    assert.equal(second.digest, first.digest);
    assert.deepEqual(baseGets(), [], 'no base layer download');
    const blobGets = proxy.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    assert.ok(blobGets.length <= 4, `only configs were read: ${blobGets.map((r) => r.path).join(', ')}`);
    assert.equal(second.pushed.bytes, 0);
  } finally {
    await proxy.stop();
    await removeImages(`${ctx.reg.host}/demo/crypto:v1`);
  }
});

test('libc in [tool.shale] wins: "glibc 2.28" refuses the manylinux_2_34 wheel with a clear error', async () => {
  const dir = await cryptoApp('libc = "glibc 2.28"\n');
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /no wheel of cryptography==[\d.]+ .*fits linux\/amd64, Python 3\.11, glibc 2\.28/);
  const bad = await cryptoApp('libc = "glibc"\n');
  const r2 = await shale(['build', bad], ctx.env);
  assert.equal(r2.exitCode, 2);
  assert.match(r2.stderr, /libc/);
});
