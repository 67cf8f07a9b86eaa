import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFiles } from '../../../src/plan/app-files.js';
import { findLinksInProject } from '../../../src/pipeline/steps/collect-app.js';
import { writeProject } from '../../support/project.js';
import type { ShaleEvent } from '../../../src/events.js';

const tree = (files: Record<string, string>): Promise<string> => writeProject(files);

test('secrets and caches stay out by default, and each default exclusion is reported', async () => {
  const dir = await tree({
    'main.py': '',
    '.env': 'SECRET=1',
    '.git/config': '',
    'pkg/__pycache__/x.pyc': '',
    'pkg/mod.py': '',
    'deploy/id_rsa': 'key',
    'certs/server.pem': 'key',
    '.venv/bin/python': '',
    'node_modules/x/index.js': '',
    '.shale/image/index.json': '{}',
  });
  const events: ShaleEvent[] = [];
  const entries = await collectFiles(dir, [{ from: dir, to: '/app', kind: 'dir' }], [], (e) => events.push(e));
  const paths = entries.map((e) => e.path).sort();
  assert.deepEqual(paths, ['app', 'app/certs', 'app/deploy', 'app/main.py', 'app/pkg', 'app/pkg/mod.py']);
  const reported = events.flatMap((e) => (e.type === 'excluded' ? [e.path] : [])).sort();
  // .shale/ (shale's own output) stays out without a word.
  assert.deepEqual(reported, ['.env', '.git/', '.venv/', 'certs/server.pem', 'deploy/id_rsa', 'node_modules/', 'pkg/__pycache__/']);
});

test('find-links directories inside the project are found as project paths (the build leaves them out of the app)', () => {
  const spec = { projectDir: '/p', findLinks: ['wheels', '/p/vendor/whl', 'file:///p/more', 'https://example.com/w/', '/elsewhere', '.', '../up'] };
  assert.deepEqual(findLinksInProject(spec), ['wheels', 'vendor/whl', 'more']);
});

test('.dockerignore, .shaleignore and `exclude` are honoured quietly; files map to the destination', async () => {
  const dir = await tree({
    'main.py': '',
    'docs/a.md': '',
    'tmp/x': '',
    'data.csv': '',
    '.dockerignore': 'docs\n',
    '.shaleignore': '*.csv\n',
    'static/site.css': '',
  });
  await symlink('main.py', join(dir, 'link.py'));
  const events: ShaleEvent[] = [];
  const entries = await collectFiles(
    dir,
    [
      { from: dir, to: '/srv', kind: 'dir' },
      { from: join(dir, 'static'), to: '/var/www', kind: 'dir' },
    ],
    ['tmp/'],
    (e) => events.push(e),
  );
  const paths = entries.map((e) => `${e.type}:${e.path}`).sort();
  assert.ok(paths.includes('symlink:srv/link.py'));
  assert.ok(paths.includes('file:var/www/site.css'));
  assert.ok(!paths.some((p) => /docs|tmp|data\.csv/.test(p)), paths.join(' '));
  assert.equal(events.filter((e) => e.type === 'excluded').length, 0);
});
