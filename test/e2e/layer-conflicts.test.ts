// End to end: a path two of shale's layers write differently is an input error before anything
// is built or pushed. `evil-six` ships `six.py` like the real six: in another layer the upper one
// would silently replace six's module, so the build exits 2 naming both and the path, even when
// six's layer is reused from the local cache or the registry and was never built in this run.
// Namespace packages that ship the same `__init__.py` build (in one layer or two, with
// bytecode) and run under podman.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { podmanRun, removeImages, skopeoInspect } from './support/podman.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { makeWheel, type WheelSpec } from '../unit/python/helpers.js';
import { hashFile } from '../../src/python/wheel-cache.js';

const ctx = useRegistryWithBase();

/** A project with these wheels (pinned by hash in requirements.txt), main.py and shale.toml lines. */
async function project(wheels: WheelSpec[], main: string, config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-conflicts-'));
  await mkdir(join(dir, 'wheels'));
  let reqs = '';
  for (const spec of wheels) {
    const w = makeWheel(join(dir, 'wheels'), spec);
    reqs += `${spec.name}==${spec.version} --hash=sha256:${await hashFile(w.path)}\n`;
  }
  await writeFile(join(dir, 'requirements.txt'), reqs);
  await writeFile(join(dir, 'main.py'), main);
  await writeFile(
    join(dir, 'shale.toml'),
    `name = "conflicts"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["wheels"]\nno-index = true\n${config}`,
  );
  return dir;
}

const SIX: WheelSpec = { name: 'six', version: '1.16.0', files: [{ name: 'six.py', data: '__version__ = "1.16.0"\n' }] };
const EVIL: WheelSpec = {
  name: 'evil_six',
  version: '1.0',
  files: [
    { name: 'six.py', data: '__version__ = "evil"\n' },
    { name: 'evil_six/__init__.py', data: '' },
  ],
};
const LAYERS = '[[layers]]\nname = "deps"\npackages = ["six"]\n[[layers]]\nname = "extras"\npackages = "all"\n';

test("a package shipping another package's module in another layer: exit 2 naming both and the path, nothing written", async () => {
  const ref = `${ctx.reg.host}/demo/conflicts:evil`;
  const cache = await freshCache();
  const dir = await project([SIX], 'import six\nprint(six.__version__)\n', LAYERS);
  const first = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: cache });

  // Now evil-six joins, in its own layer; six's layer is reused (local cache, then registry).
  const evil = makeWheel(join(dir, 'wheels'), EVIL);
  await writeFile(
    join(dir, 'requirements.txt'),
    `six==1.16.0 --hash=sha256:${await hashFile(join(dir, 'wheels', 'six-1.16.0-py3-none-any.whl'))}\nevil-six==1.0 --hash=sha256:${await hashFile(evil.path)}\n`,
  );
  for (const [how, env] of [
    ['local cache', { ...ctx.env, SHALE_CACHE_DIR: cache }],
    ['registry, empty cache', { ...ctx.env, SHALE_CACHE_DIR: await freshCache() }],
  ] as const) {
    const r = await shale(['build', dir, '--push', ref], env);
    assert.equal(r.exitCode, 2, `${how}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /six 1\.16\.0 \(layer "deps"\) and evil-six 1\.0 \(layer "extras"\) both write \/usr\/local\/lib\/python3\.11\/(site|dist)-packages\/six\.py, with different contents/,
      how,
    );
    assert.match(r.stderr, /drop one of the packages/, how);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.equal((await skopeoInspect(ref)).Digest, first.digest, `${how}: the tag still names the first image`);
  }

  // Automatic layering, to an OCI layout: the same error, whichever buckets the names fall in; no layout.
  await writeFile(
    join(dir, 'shale.toml'),
    'name = "conflicts"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["wheels"]\nno-index = true\n',
  );
  const r = await shale(['build', dir], ctx.env);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /evil-six 1\.0.*six\.py|six 1\.16\.0.*evil-six 1\.0.*six\.py/);
  assert.equal(existsSync(join(dir, '.shale', 'image')), false, 'no OCI layout written');
});

test('namespace packages sharing an identical __init__.py build, in two layers or one with bytecode, and run', async () => {
  const init = { name: 'nspkg/__init__.py', data: "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n" };
  const wheels: WheelSpec[] = [
    { name: 'nspkg_alpha', version: '1.0', files: [init, { name: 'nspkg/alpha/__init__.py', data: 'NAME = "alpha"\n' }] },
    { name: 'nspkg_beta', version: '1.0', files: [init, { name: 'nspkg/beta/__init__.py', data: 'NAME = "beta"\n' }] },
  ];
  const main =
    'import os, nspkg.alpha, nspkg.beta, importlib.util as u\nprint(nspkg.alpha.NAME, nspkg.beta.NAME, os.path.isfile(u.cache_from_source(nspkg.__file__)))\n';
  const cases = [
    ['two layers', 'False', '[[layers]]\nname = "alpha"\npackages = ["nspkg-alpha"]\n[[layers]]\nname = "beta"\npackages = ["nspkg-beta"]\n'],
    ['one layer, compiled', 'True', 'compile-bytecode = true\n[[layers]]\nname = "ns"\npackages = "all"\n'],
  ] as const;
  for (const [how, pyc, config] of cases) {
    const dir = await project(wheels, main, config);
    const ref = `${ctx.reg.host}/demo/conflicts:ns-${how.split(/\W/)[0]}`;
    const out = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
    assert.ok(
      out.layers.some((l) => l.name === (how === 'two layers' ? 'beta' : 'ns')),
      how,
    );
    // Python must not write .pyc files itself here: only the ones shale compiled may be found.
    const r = await podmanRun(ref, [], { env: { PYTHONDONTWRITEBYTECODE: '1' } });
    assert.equal(r.stdout.trim(), `alpha beta ${pyc}`, how);
    await removeImages(ref);
  }
});
