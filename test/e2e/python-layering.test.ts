// End to end: dependency layers stay stable. Bumping one small package, or adding one, on a fresh
// runner (empty cache, the registry holds the previous push) rebuilds and uploads the one bucket
// layer that package hashes to, not the whole dependency set; the other layers are the same blobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { podmanRun, removeImages } from './support/podman.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { freshCache, shaleJson, type BuildJson } from './support/shale.js';
import { makeWheel } from '../unit/python/helpers.js';
import { hashFile } from '../../src/python/wheel-cache.js';

const ctx = useRegistryWithBase();

const SET = ['Flask', 'Werkzeug', 'Jinja2', 'MarkupSafe', 'itsdangerous', 'click', 'blinker', 'requests', 'certifi', 'idna', 'charset-normalizer', 'urllib3'];

/** A small pure wheel made here (a few kB), so its version can be bumped. */
async function tinyWheel(dir: string, name: string, version: string): Promise<string> {
  const w = makeWheel(dir, { name, version, files: [{ name: `${name}.py`, data: `VERSION = "${version}"\n` + '# padding\n'.repeat(200) }] });
  return `${name}==${version} --hash=sha256:${await hashFile(w.path)}\n`;
}

function changed(prev: BuildJson, next: BuildJson): BuildJson['layers'] {
  return next.layers.filter((l) => l.source !== 'base' && prev.layers.find((p) => p.name === l.name)?.digest !== l.digest);
}

test('bumping or adding one small package re-uploads one bucket layer, not the dependency set', async (t) => {
  const set = await ensureRepackedWheels(SET);
  const dir = await mkdtemp(join(tmpdir(), 'shale-layering-'));
  const wheels = join(dir, 'wheels');
  await mkdir(wheels);
  for (const w of await readdir(set.dir)) if (w.endsWith('.whl')) await copyFile(join(set.dir, w), join(wheels, w));
  const base = await readFile(set.requirements, 'utf8');
  const bump10 = await tinyWheel(wheels, 'tinybump', '1.0');
  const bump11 = await tinyWheel(wheels, 'tinybump', '1.1');
  const add = await tinyWheel(wheels, 'tinyadd', '1.0');
  await writeFile(join(dir, 'main.py'), 'import flask, requests, tinybump\nprint(tinybump.VERSION)\n');
  await writeFile(
    join(dir, 'shale.toml'),
    'name = "layering"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["wheels"]\nno-index = true\n',
  );
  const ref = `${ctx.reg.host}/demo/layering:main`;
  const build = async (reqs: string): Promise<BuildJson> => {
    await writeFile(join(dir, 'requirements.txt'), reqs);
    return shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  };

  const v1 = await build(base + bump10);
  const deps = v1.layers.filter((l) => l.name.startsWith('deps-') || l.name.startsWith('pkg-'));
  const depBytes = deps.reduce((n, l) => n + l.size, 0);
  assert.ok(deps.length >= 3, `several dependency layers: ${deps.map((l) => l.name).join(', ')}`);

  let last = v1;
  for (const [what, reqs] of [
    ['bump tinybump 1.0 → 1.1', base + bump11],
    ['add tinyadd', base + bump11 + add],
  ] as const) {
    const next = await build(reqs);
    const moved = changed(last, next);
    assert.equal(moved.length, 1, `${what}: one layer changed, got ${moved.map((l) => l.name).join(', ')}`);
    const layer = moved[0]!;
    assert.match(layer.name, /^deps-pure-\d+$/);
    assert.equal(next.pushed.blobs, 2, `${what}: the bucket layer and the config`);
    assert.ok(next.pushed.bytes <= layer.size + 16_384, `${what}: pushed ${next.pushed.bytes} bytes for a ${layer.size}-byte layer`);
    // A name-hash bucket may hold a few other packages (here tinyadd shares one with jinja2 and
    // click), so "about the package's size" means about one bucket's: far from the whole set.
    assert.ok(next.pushed.bytes < depBytes / 2, `${what}: pushed ${next.pushed.bytes} of ${depBytes} dependency bytes`);
    t.diagnostic(`${what}: ${layer.name} rebuilt; pushed ${next.pushed.bytes} bytes of ${depBytes} in dependency layers`);
    last = next;
  }
  const r = await podmanRun(ref, []);
  assert.equal(r.stdout.trim(), '1.1');
  await removeImages(ref);
});
