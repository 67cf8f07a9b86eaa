// What an installed package writes, from its regenerated RECORD (and cached by wheel), and one
// layer holding two packages that install the same file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../../../src/layer/entry.js';
import { normalizeEntries } from '../../../src/layer/tar.js';
import { installedFiles, mergePackageEntries, PackageFiles, packageRoots, reachesRoots } from '../../../src/plan/package-files.js';
import { planLayers } from '../../../src/plan/layers.js';
import { pythonLayout } from '../../../src/python/layout.js';
import { Cache } from '../../../src/store/cache.js';
import { cleanup, tempDir } from '../python/helpers.js';
import { wheelPackage } from './wheel-packages.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import { testSpec } from '../../support/spec.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

async function sha256(e: Entry): Promise<string> {
  assert.equal(e.type, 'file');
  const h = createHash('sha256');
  if (e.type === 'file') for await (const c of await e.open()) h.update(c as Buffer);
  return h.digest('hex');
}

function spec(layers: BuildSpec['layers']): BuildSpec {
  return testSpec(layers ? { layers } : {});
}

describe('package files', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir('shale-pkgfiles-');
  });
  after(() => cleanup(dir));

  it('lists every installed file with the sha256 of its bytes, taken from RECORD', async () => {
    const p = await wheelPackage(
      dir,
      {
        name: 'demo',
        version: '1.0',
        files: [
          { name: 'demo/__init__.py', data: 'X = 1\n' },
          { name: 'demo/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
        ],
        entryPoints: '[console_scripts]\ndemo = demo:main\n',
      },
      layout,
    );
    const entries = await p.entries();
    const files = await installedFiles(p.name, entries, layout);
    assert.deepEqual(files.map((f) => f.path).sort(), entries.map((e) => e.path).sort());
    for (const e of entries) {
      const f = files.find((x) => x.path === e.path)!;
      assert.equal(f.content, await sha256(e), e.path);
    }
    assert.equal(files.find((f) => f.path === `${SITE}/demo/run.sh`)?.kind, 'f755');
    assert.equal(files.find((f) => f.path === 'usr/local/bin/demo')?.kind, 'f755');
    assert.equal(files.find((f) => f.path === `${SITE}/demo/__init__.py`)?.kind, 'f644');
  });

  it('are cached by wheel: a second build lists them without installing the wheel; --no-cache installs again', async () => {
    const calls: string[] = [];
    const cache = join(dir, 'cache');
    const p = await wheelPackage(dir, { name: 'cached', version: '1.0', files: [{ name: 'cached.py', data: 'A = 1\n' }] }, layout, { calls });
    const first = await new PackageFiles(Cache.open(cache), true).files(p, layout);
    assert.deepEqual(calls, ['cached']);
    assert.deepEqual((await readdir(join(cache, 'metadata'))).filter((n) => n.endsWith('.files.json')).length, 1);
    const again = await new PackageFiles(Cache.open(cache), true).files(p, layout);
    assert.deepEqual(again, first);
    assert.deepEqual(calls, ['cached'], 'read from the cache');
    await new PackageFiles(Cache.open(cache), false).files(p, layout);
    assert.deepEqual(calls, ['cached', 'cached']);
    // Another layout is another install.
    await new PackageFiles(Cache.open(cache), true).files(p, pythonLayout('debian', '3.11'));
    assert.equal(calls.length, 3);
  });

  it('one layer with two namespace packages shipping the same __init__.py holds it once', async () => {
    const init = { name: 'google/__init__.py', data: "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n" };
    const a = await wheelPackage(dir, { name: 'google_a', version: '1.0', files: [init, { name: 'google/a/__init__.py', data: 'A = 1\n' }] }, layout);
    const b = await wheelPackage(dir, { name: 'google_b', version: '1.0', files: [init, { name: 'google/b/__init__.py', data: 'B = 1\n' }] }, layout);
    const [layer] = await planLayers({ spec: spec([{ name: 'google', packages: 'all' }]), layout, packages: [a, b], libs: [], app: [], epoch: 0 });
    const entries = await layer!.entries();
    assert.equal(entries.filter((e) => e.path === `${SITE}/google/__init__.py`).length, 1);
    assert.ok(entries.some((e) => e.path === `${SITE}/google/b/__init__.py`));
    normalizeEntries(entries); // what the tar writer does: no "two entries write ... in the same layer"
  });

  it('two packages of one layer shipping one path with different bytes: an error naming both', async () => {
    const six = await wheelPackage(dir, { name: 'six', version: '1.16.0', files: [{ name: 'six.py', data: '# the real six\n' }] }, layout);
    const evil = await wheelPackage(dir, { name: 'evil_six', version: '1.0', files: [{ name: 'six.py', data: '# not six\n' }] }, layout);
    await assert.rejects(mergePackageEntries('deps', [evil, six], [await evil.entries(), await six.entries()], layout), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_LAYER_CONFLICT');
      assert.match(
        e.message,
        /^evil-six 1\.0 and six 1\.16\.0 \(both in layer "deps"\) both write \/usr\/local\/lib\/python3\.11\/site-packages\/six\.py, with different contents/,
      );
      return true;
    });
  });

  it('tell which file layers can meet a package: below the install directories, or a non-directory above them', () => {
    const roots = packageRoots(layout);
    assert.deepEqual(roots, ['usr/local/lib/python3.11/site-packages', 'usr/local/bin', 'usr/local', 'usr/local/include/python3.11']);
    const d = (path: string) => ({ path, kind: 'd', content: '' });
    const f = (path: string) => ({ path, kind: 'f644', content: 'x' });
    assert.equal(reachesRoots([d('app'), f('app/six.py'), d('usr'), d('usr/local')], roots), false);
    assert.equal(reachesRoots([f(`${SITE}/mylib.py`)], roots), true);
    assert.equal(reachesRoots([d('usr/local/app')], roots), true);
    assert.equal(reachesRoots([f('usr/local')], roots), true);
    assert.equal(reachesRoots([f('usr')], roots), true);
  });
});
