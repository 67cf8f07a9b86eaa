// The build's check that no two of its layers write one path differently (LayerMaker.checkPaths):
// real wheels, planned as a build plans them; a rebuild that changes no package installs none.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LayerMaker, type LayerCache } from '../../../src/pipeline/materialize.js';
import { RemoteLayers } from '../../../src/pipeline/registry-cache.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import { testSpec } from '../../support/spec.js';
import { noEvents } from '../../../src/events.js';
import { bufferEntry, type Entry } from '../../../src/layer/entry.js';
import { planLayers, type LibInput, type PackageInput } from '../../../src/plan/layers.js';
import { findHostPython } from '../../../src/python/host-python.js';
import { pythonLayout } from '../../../src/python/layout.js';
import { Cache } from '../../../src/store/cache.js';
import { cleanup, tempDir } from '../python/helpers.js';
import { wheelPackage } from '../plan/wheel-packages.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

function spec(layers?: BuildSpec['layers']): BuildSpec {
  return testSpec({ app: [{ from: '/p', to: '/app', kind: 'dir' }], ...(layers ? { layers } : {}) });
}

const conflict =
  (...patterns: RegExp[]) =>
  (e: Error & { code?: string; exitCode?: number }): boolean => {
    assert.equal(e.code, 'SHALE_LAYER_CONFLICT', e.message);
    assert.equal(e.exitCode, 2);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };

describe('LayerMaker.checkPaths', () => {
  let dir = '';
  let cacheDir = '';
  before(async () => {
    dir = await tempDir('shale-checkpaths-');
  });
  after(async () => {
    await cleanup(dir);
  });

  /** A fresh maker over `cacheDir`, as one run of `shale build` has. */
  const maker = (noCache = false): LayerMaker => {
    const local = Cache.open(cacheDir);
    const cache: LayerCache = { blobs: local.blobs, index: local.layers, records: local.records, remote: new RemoteLayers() };
    return new LayerMaker(cache, { noCache, epoch: 0, events: noEvents, projectDir: '/p' });
  };
  const check = async (
    m: LayerMaker,
    s: BuildSpec,
    packages: PackageInput[],
    app: Entry[] = [bufferEntry('app/main.py', 'import six\n')],
    libs: LibInput[] = [],
  ) => {
    const plans = await planLayers({ spec: s, layout, packages, libs, app, epoch: 0 });
    await m.checkPaths(plans, packages, layout, Cache.open(cacheDir));
  };

  it("refuses a package that ships another package's module in another layer, naming both, their layers and the path", async () => {
    cacheDir = join(dir, 'c1');
    const six = await wheelPackage(dir, { name: 'six', version: '1.16.0', files: [{ name: 'six.py', data: '# the real six\n' }] }, layout);
    const evil = await wheelPackage(
      dir,
      {
        name: 'evil_six',
        version: '1.0',
        files: [
          { name: 'six.py', data: '# not six\n' },
          { name: 'evil_six/__init__.py', data: '' },
        ],
      },
      layout,
    );
    const layers = spec([
      { name: 'base-deps', packages: ['six'] },
      { name: 'extras', packages: ['evil-six'] },
    ]);
    await assert.rejects(
      check(maker(), layers, [six, evil]),
      conflict(
        /^six 1\.16\.0 \(layer "base-deps"\) and evil-six 1\.0 \(layer "extras"\) both write \/usr\/local\/lib\/python3\.11\/site-packages\/six\.py, with different contents/,
      ),
    );
    // Automatic layering too, whatever buckets the names fall in.
    await assert.rejects(check(maker(), spec(), [six, evil]), conflict(/six 1\.16\.0.*evil-six 1\.0|evil-six 1\.0.*six 1\.16\.0/, /site-packages\/six\.py/));
  });

  it('lets namespace packages share an identical __init__.py across layers; a rebuild with the same packages installs nothing', async () => {
    cacheDir = join(dir, 'c2');
    const calls: string[] = [];
    const init = { name: 'google/__init__.py', data: "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n" };
    const a = await wheelPackage(dir, { name: 'google_a', version: '1.0', files: [init, { name: 'google/a/__init__.py', data: 'A = 1\n' }] }, layout, {
      calls,
    });
    const b = await wheelPackage(dir, { name: 'google_b', version: '1.0', files: [init, { name: 'google/b/__init__.py', data: 'B = 1\n' }] }, layout, {
      calls,
    });
    const layers = spec([
      { name: 'one', packages: ['google-a'] },
      { name: 'two', packages: ['google-b'] },
    ]);
    await check(maker(), layers, [a, b]);
    assert.deepEqual([...calls].sort(), ['google_a', 'google_b']);
    // The next build (another process: a new maker) knows this set of packages is clean.
    await check(maker(), layers, [a, b], [bufferEntry('app/main.py', 'changed\n')]);
    assert.equal(calls.length, 2, 'no package installed again');
    // --no-cache trusts nothing it remembered.
    await check(maker(true), layers, [a, b]);
    assert.equal(calls.length, 4);
  });

  it('checks the app and local libraries against packages at the same absolute path only', async () => {
    cacheDir = join(dir, 'c3');
    const calls: string[] = [];
    const six = await wheelPackage(dir, { name: 'six', version: '1.16.0', files: [{ name: 'six.py', data: '# the real six\n' }] }, layout, { calls });
    const layers = spec([
      { name: 'deps', packages: 'all' },
      { name: 'libs', paths: ['/p/libs/six'] },
    ]);
    const lib = (data: string, path = `${SITE}/six.py`): LibInput => ({ name: 'six', dir: 'libs/six', entries: [bufferEntry(path, data)] });
    // An app file six.py in the workdir is another path: fine.
    await check(maker(), spec(), [six], [bufferEntry('app/six.py', '# mine\n')]);
    await assert.rejects(
      check(maker(), layers, [six], undefined, [lib('# my own six\n')]),
      conflict(
        /^six 1\.16\.0 \(layer "deps"\) and the local libraries \(layer "libs"\) both write \/usr\/local\/lib\/python3\.11\/site-packages\/six\.py/,
        /Remove or rename the path in the local libraries, or drop six 1\.16\.0/,
      ),
    );
    // An app whose workdir is a site directory can replace a package's file too.
    await assert.rejects(check(maker(), spec(), [six], [bufferEntry(`${SITE}/six.py`, 'x')]), conflict(/and the app \(layer "app"\)/));
    // A library in site-packages that changes is checked again, from the cached file lists.
    const before = calls.length;
    await check(maker(), layers, [six], undefined, [lib('A = 1\n', `${SITE}/mylib.py`)]);
    await check(maker(), layers, [six], undefined, [lib('A = 2\n', `${SITE}/mylib.py`)]);
    assert.equal(calls.length, before, 'package lists came from the cache');
    await rm(join(cacheDir, 'metadata'), { recursive: true });
    await assert.rejects(check(maker(), layers, [six], undefined, [lib('# my own six\n')]), conflict(/six\.py/));
    assert.equal(calls.length, before + 1, 'a missing list installs the package');
  });

  it("covers compiled bytecode: a wheel shipping another package's .pyc conflicts with the compiled one", async () => {
    cacheDir = join(dir, 'c4');
    const py = await findHostPython('3.11');
    const mk = (opts: { py?: typeof py }) =>
      Promise.all([
        wheelPackage(dir, { name: 'six', version: '1.16.0', files: [{ name: 'six.py', data: 'X = 1\n' }] }, layout, opts),
        wheelPackage(
          dir,
          { name: 'pyc_stub', version: '1.0', files: [{ name: '__pycache__/six.cpython-311.pyc', data: Buffer.from('not bytecode') }] },
          layout,
          opts,
        ),
      ]);
    const layers = spec([
      { name: 'a', packages: ['six'] },
      { name: 'b', packages: ['pyc-stub'] },
    ]);
    await check(maker(), layers, await mk({}));
    await assert.rejects(
      check(maker(), layers, await mk({ py })),
      conflict(
        /six 1\.16\.0 \(layer "a"\) and pyc-stub 1\.0 \(layer "b"\) both write \/usr\/local\/lib\/python3\.11\/site-packages\/__pycache__\/six\.cpython-311\.pyc/,
      ),
    );
  });
});
