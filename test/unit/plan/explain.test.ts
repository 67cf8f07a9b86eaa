import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeChange, projectPathOf } from '../../../src/plan/explain.js';
import type { LayerInputs } from '../../../src/plan/layers.js';
import { pythonLayout } from '../../../src/python/layout.js';

const layout = pythonLayout('debian', '3.11');
const wheels = (...w: { name: string; version: string; sha256?: string; bytecode?: string }[]): LayerInputs => ({
  kind: 'packages',
  format: 1,
  epoch: 0,
  layout,
  wheels: w.map((x) => ({
    name: x.name,
    version: x.version,
    wheel: `${x.name}-${x.version}-py3-none-any.whl`,
    sha256: x.sha256 ?? 'a',
    ...(x.bytecode ? { bytecode: x.bytecode } : {}),
  })),
});
const files = (...f: [string, string][]): LayerInputs => ({
  kind: 'app',
  format: 1,
  epoch: 0,
  files: f.map(([path, content]) => ({ path, kind: 'f644', content })),
});

test('package layers: bumped, added, removed, rebuilt wheels and bytecode are named', () => {
  const before = wheels({ name: 'six', version: '1.16.0' }, { name: 'idna', version: '3.3' }, { name: 'click', version: '8.1.3' });
  const after = wheels({ name: 'six', version: '1.17.0' }, { name: 'idna', version: '3.3', sha256: 'b' }, { name: 'h11', version: '0.14.0' });
  assert.equal(describeChange(before, after), 'six 1.16.0 → 1.17.0, idna 3.3 (another wheel: idna-3.3-py3-none-any.whl) changed; h11 added; click removed');
  assert.match(
    describeChange(wheels({ name: 'six', version: '1.17.0' }), wheels({ name: 'six', version: '1.17.0', bytecode: 'cpython-311' })),
    /six bytecode \(cpython-311\)/,
  );
});

test('file layers: changed, added and removed files; SOURCE_DATE_EPOCH', () => {
  assert.equal(
    describeChange(files(['app/a.py', '1'], ['app/b.py', '1']), files(['app/a.py', '2'], ['app/c.py', '1'])),
    'app/a.py changed; app/c.py added; app/b.py removed',
  );
  assert.equal(describeChange(files(['app/a.py', '1']), { ...files(['app/a.py', '1']), epoch: 5 }), 'SOURCE_DATE_EPOCH changed');
});

test('file names are project paths: through the app source that holds them; other layers keep image paths', () => {
  const name = projectPathOf('/p', [
    { from: '/p', to: '/app', kind: 'dir' },
    { from: '/p/static', to: '/srv/static', kind: 'dir' },
    { from: '/p/conf/app.ini', to: '/etc/app.ini', kind: 'file' },
  ]);
  assert.equal(
    describeChange(
      files(['app/a.py', '1'], ['srv/static/x.css', '1'], ['etc/app.ini', '1']),
      files(['app/a.py', '2'], ['srv/static/x.css', '2'], ['etc/app.ini', '2'], ['app/pkg/b.py', '1']),
      name,
    ),
    'a.py, static/x.css, conf/app.ini changed; pkg/b.py added',
  );
  assert.equal(name('usr/lib/x.py', 'libs'), 'usr/lib/x.py');
  assert.equal(projectPathOf('/p', [{ from: '/p/src', to: '/', kind: 'dir' }])('m.py', 'app'), 'src/m.py');
});

test('local libraries: files are named by the project path they were installed from (src/ layout, package dir, flat package)', async () => {
  const p = await mkdtemp(join(tmpdir(), 'shale-explain-'));
  try {
    for (const f of ['libs/core/src/core/__init__.py', 'libs/util/util/__init__.py', 'libs/flat/__init__.py', 'libs/mods/helpers.py'])
      await mkdir(join(p, f, '..'), { recursive: true }).then(() => writeFile(join(p, f), ''));
    const libDirs = ['core', 'util', 'flat', 'mods'].map((l) => join(p, 'libs', l));
    const name = projectPathOf(p, [{ from: p, to: '/app', kind: 'dir' }], libDirs);
    const site = 'usr/local/lib/python3.11/site-packages';
    const libs = (...f: [string, string][]): LayerInputs => ({
      kind: 'libs',
      format: 1,
      epoch: 0,
      files: f.map(([path, content]) => ({ path, kind: 'f644', content })),
    });
    assert.equal(
      describeChange(
        libs([`${site}/core/__init__.py`, '1'], [`${site}/util/__init__.py`, '1'], [`${site}/core/old.py`, '1']),
        libs([`${site}/core/__init__.py`, '2'], [`${site}/util/__init__.py`, '2'], [`${site}/flat/__init__.py`, '1'], [`${site}/helpers.py`, '1']),
        name,
      ),
      'libs/core/src/core/__init__.py, libs/util/util/__init__.py changed; ' +
        'libs/flat/__init__.py, libs/mods/helpers.py added; libs/core/src/core/old.py removed',
    );
    // What the install made, and a package no library holds, keep their image path; app files still go through `app`.
    assert.equal(name(`${site}/core-1.0.dist-info/METADATA`, 'libs'), `${site}/core-1.0.dist-info/METADATA`);
    assert.equal(name('usr/local/bin/core-cli', 'libs'), 'usr/local/bin/core-cli');
    assert.equal(name(`${site}/gone/__init__.py`, 'libs'), `${site}/gone/__init__.py`);
    assert.equal(name(`dist-packages/core/x.py`, 'libs'), 'libs/core/src/core/x.py');
    assert.equal(name('app/main.py', 'app'), 'main.py');
    assert.equal(projectPathOf(p, [])(`${site}/core/__init__.py`, 'libs'), `${site}/core/__init__.py`, 'no library named, no project path');
  } finally {
    await rm(p, { recursive: true, force: true });
  }
});
