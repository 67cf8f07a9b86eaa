import { test } from 'node:test';
import assert from 'node:assert/strict';
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
