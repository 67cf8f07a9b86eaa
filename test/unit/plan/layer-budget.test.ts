import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadBuildSpec } from '../../../src/config/load.js';
import { testSpec } from '../../support/spec.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import { bufferEntry } from '../../../src/layer/entry.js';
import { DEFAULT_MAX_LAYERS, LARGE_WHEEL_BYTES, planLayers, type PackageInput } from '../../../src/plan/layers.js';
import { pythonLayout } from '../../../src/python/layout.js';

const layout = pythonLayout('debian', '3.11');
const MB = 1024 * 1024;

function pkg(name: string, size: number): PackageInput {
  return {
    name,
    version: '1.0',
    wheel: `${name}-1.0-py3-none-any.whl`,
    sha256: name.padEnd(64, '0').slice(0, 64),
    pure: true,
    size,
    entries: async () => [bufferEntry(`site/${name}.py`, name)],
  };
}

function spec(extra: Partial<BuildSpec> = {}): BuildSpec {
  return testSpec({ configFile: '/p/pyproject.toml', ...extra });
}

const plan = (s: BuildSpec, packages: PackageInput[], baseLayers = 1) =>
  planLayers({ spec: s, layout, packages, libs: [], app: [bufferEntry('app/main.py', '')], epoch: 0, baseLayers });

test('explicit layers pin packages: numpy and scipy together, the rest in "all"', async () => {
  const s = spec({
    layers: [
      { name: 'sci', packages: ['numpy', 'SciPy'] },
      { name: 'rest', packages: 'all' },
    ],
  });
  const layers = await plan(s, [pkg('numpy', 20 * MB), pkg('scipy', 40 * MB), pkg('six', 1000), pkg('idna', 2000)]);
  assert.deepEqual(
    layers.map((l) => l.name),
    ['sci', 'rest', 'app'],
  );
  assert.equal(layers[0]?.createdBy, 'shale: sci: numpy==1.0 scipy==1.0');
  assert.equal(layers[1]?.createdBy, 'shale: rest: idna==1.0 six==1.0');
  // The pinned layer's fingerprint does not move when a package of another layer changes.
  const again = await plan(s, [pkg('numpy', 20 * MB), pkg('scipy', 40 * MB), pkg('six', 1000), { ...pkg('idna', 2000), version: '2.0' }]);
  assert.equal(again[0]?.fingerprint, layers[0]?.fingerprint);
  assert.notEqual(again[1]?.fingerprint, layers[1]?.fingerprint);
});

test('explicit layers past max-layers (base included) are an error that says what to do', async () => {
  const names = Array.from({ length: 6 }, (_, i) => `p${i}`);
  const s = spec({ maxLayers: 6, layers: names.map((n) => ({ name: n, packages: [n] })) });
  await assert.rejects(
    plan(
      s,
      names.map((n) => pkg(n, 100)),
      2,
    ),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_TOO_MANY_LAYERS');
      assert.match(e.message, /pyproject\.toml: the image would have 9 layers \(2 from the base, 7 from shale\), over max-layers = 6/);
      assert.match(e.message, /raise max-layers/);
      return true;
    },
  );
});

test('automatic layering stays within the budget: the smallest large packages join the buckets', async () => {
  const big = Array.from({ length: 70 }, (_, i) => pkg(`big${String(i).padStart(2, '0')}`, LARGE_WHEEL_BYTES + i * MB));
  const layers = await plan(spec(), [...big, pkg('six', 1000)], 3);
  assert.ok(3 + layers.length <= DEFAULT_MAX_LAYERS, `${3 + layers.length} layers`);
  assert.equal(DEFAULT_MAX_LAYERS, 60);
  assert.ok(
    layers.some((l) => l.name === 'pkg-big69'),
    'the largest keep their own layer',
  );
  assert.ok(!layers.some((l) => l.name === 'pkg-big00'), 'the smallest large one went into a bucket');
  const all = (await Promise.all(layers.map((l) => l.entries()))).flat();
  assert.equal(all.length, 72, 'every package is still in some layer');
  // Within budget, nothing changes: each large package has its own layer.
  const few = await plan(spec(), big.slice(0, 5), 1);
  assert.deepEqual(few.filter((l) => l.name.startsWith('pkg-')).length, 5);
});

test('max-layers is read from the config and checked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-budget-'));
  await writeFile(join(dir, 'shale.toml'), 'name = "x"\nbase = "python:3.11-slim"\nmax-layers = 40\n');
  assert.equal((await loadBuildSpec(dir)).maxLayers, 40);
  await writeFile(join(dir, 'shale.toml'), 'name = "x"\nbase = "python:3.11-slim"\nmax-layers = 500\n');
  await assert.rejects(loadBuildSpec(dir), { code: 'SHALE_CONFIG_INVALID', message: /max-layers/ });
  await writeFile(join(dir, 'shale.toml'), 'name = "x"\nbase = "python:3.11-slim"\nlibc = "glibc 2.36"\n');
  assert.deepEqual((await loadBuildSpec(dir)).libc, { kind: 'glibc', version: [2, 36] });
  await writeFile(join(dir, 'shale.toml'), 'name = "x"\nbase = "python:3.11-slim"\nlibc = "uclibc 1"\n');
  await assert.rejects(loadBuildSpec(dir), { code: 'SHALE_CONFIG_INVALID', message: /libc.*glibc 2\.36/ });
});
