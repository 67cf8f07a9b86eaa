// End to end: the npm package as CI installs it. `npm pack` holds what shale needs to run (the
// CLI and library bundles, type declarations, README, LICENSE) and nothing else; installing the
// tarball into an empty prefix, with no network, gives a `shale` that prints its version and
// builds an image that podman runs; the library imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { freePort } from './support/registry.js';
import { loadTar, removeImages, withImage } from './support/podman.js';
import { useRegistryWithBase } from './support/setup.js';

const ctx = useRegistryWithBase();

test('npm pack → npm install -g into an empty prefix → shale --version, shale build, the image runs', async () => {
  const root = repoRoot();
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = await mkdtemp(join(tmpdir(), 'shale-pack-'));
  // --ignore-scripts: the suite has just built dist/; `prepare` would build it again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, timeoutMs: 120_000 });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = (info?.files ?? []).map((f) => f.path).sort();
  for (const want of ['bin/shale', 'dist/shale.mjs', 'dist/lib.mjs', 'dist/src/index.d.ts', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(want), `${want} is in the package (files: ${files.length})`);
  }
  const stray = files.filter((f) => /^(src|test|bench|scripts|examples)\/|^dist\/(test|bench)\/|\.ts$(?<!\.d\.ts)|\.map$/.test(f));
  assert.deepEqual(stray, [], 'no sources, tests or maps in the package');

  const prefix = join(dir, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, info?.filename ?? '')], {
    timeoutMs: 120_000,
  });
  const shale = join(prefix, 'bin', 'shale');
  assert.equal((await run(shale, ['--version'])).stdout.trim(), version);

  const tar = join(dir, 'hello.tar');
  const built = await run(shale, ['build', join(root, 'examples', 'hello_python'), '--tar', tar], { env: ctx.env, cwd: dir, timeoutMs: 300_000 });
  assert.match(built.stdout, /^sha256:[0-9a-f]{64}$/m);
  const [name] = await loadTar(tar);
  try {
    await withImage(name ?? assert.fail('podman load named no image'), { port: await freePort(), pull: 'never' }, async (c) => {
      assert.match(await (await fetch(`${c.url}/`)).text(), /hello from shale/);
    });
  } finally {
    if (name) await removeImages(name);
  }
  const lib = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(join(prefix, 'lib', 'node_modules', 'shale', 'dist', 'lib.mjs'))}); console.log(typeof m.build, typeof m.loadBuildSpec)`,
  ]);
  assert.equal(lib.stdout.trim(), 'function function');
});
