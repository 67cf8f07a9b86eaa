// The app layer's files from hostile or messy trees: symlinks in and out of the project, secrets
// the default excludes keep out (and the `!pattern` that takes one back), ignore files that are
// symlinks, names that are not UTF-8, and how many files are hashed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { collectFiles } from '../../../src/plan/app-files.js';
import { DEFAULT_EXCLUDES } from '../../../src/plan/excludes.js';
import { entryInputs } from '../../../src/plan/fingerprint.js';
import { FS_BUDGET } from '../../../src/plan/host-paths.js';
import type { Entry } from '../../../src/layer/entry.js';
import type { ShaleEvent } from '../../../src/events.js';
import { writeProject } from '../../support/project.js';

const collect = async (dir: string, from = dir, exclude: string[] = []) => {
  const events: ShaleEvent[] = [];
  const entries = await collectFiles(dir, [{ from, to: '/app', kind: 'dir' }], exclude, (e) => events.push(e));
  return { entries, events, paths: entries.map((e) => `${e.type}:${e.path}${e.type === 'symlink' ? `->${e.target}` : ''}`).sort() };
};

const outsideFile = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-host-'));
  await writeFile(join(dir, 'shadow'), 'root:$6$secret');
  return dir;
};

test('a symlink to a host directory inside the app is refused; nothing of the host is listed', async () => {
  const dir = await writeProject({ 'main.py': '' });
  await symlink('/etc', join(dir, 'etclink'));
  await assert.rejects(collect(dir), {
    code: 'SHALE_PATH_OUTSIDE',
    message: /^etclink is a symlink to "\/etc", which resolves to \/etc, outside the project directory .*\.shaleignore/,
  });
  // Leaving it out with .shaleignore is the way to keep such a link in the tree.
  await writeFile(join(dir, '.shaleignore'), 'etclink\n');
  assert.deepEqual((await collect(dir)).paths, ['dir:app', 'file:app/.shaleignore', 'file:app/main.py']);
});

test('symlinks inside the project are stored as symlinks, also when an app source is a subdirectory', async () => {
  const dir = await writeProject({ 'src/main.py': '', 'src/pkg/mod.py': '', 'shared/util.py': '' });
  await symlink('main.py', join(dir, 'src', 'run.py'));
  await symlink('pkg', join(dir, 'src', 'pkg-link'));
  await symlink('../shared', join(dir, 'src', 'shared'));
  const { paths } = await collect(dir, join(dir, 'src'));
  assert.deepEqual(paths, [
    'dir:app',
    'dir:app/pkg',
    'file:app/main.py',
    'file:app/pkg/mod.py',
    'symlink:app/pkg-link->pkg',
    'symlink:app/run.py->main.py',
    'symlink:app/shared->../shared',
  ]);
});

test('an app source that resolves out of the project (given directly) is refused', async () => {
  const host = await outsideFile();
  const dir = await writeProject({ 'main.py': '' });
  await symlink(host, join(dir, 'hostdir'));
  await assert.rejects(
    collectFiles(dir, [{ from: join(dir, 'hostdir'), to: '/app', kind: 'dir' }], [], () => {}),
    { code: 'SHALE_PATH_OUTSIDE', message: new RegExp(`resolves to ${host}, outside the project directory`) },
  );
});

test('a dangling symlink is left out with a warning; a loop is an error', async () => {
  const dir = await writeProject({ 'main.py': '' });
  await symlink('user@host.1234:1700000000', join(dir, '.#main.py')); // an editor's lock file
  const { paths, events } = await collect(dir);
  assert.deepEqual(paths, ['dir:app', 'file:app/main.py']);
  const warn = events.find((e) => e.type === 'log' && e.level === 'warn');
  assert.match(warn?.type === 'log' ? warn.message : '', /left out \.#main\.py: it is a symlink to "user@host\.1234:1700000000", which does not exist/);
  await symlink('b', join(dir, 'a'));
  await symlink('a', join(dir, 'b'));
  await assert.rejects(collect(dir), { code: 'SHALE_SYMLINK_LOOP', message: /^a is a symlink to "b" that never resolves/ });
});

test('ignore files that are symlinks must point inside the project; unreadable ones are errors, not "no rules"', async () => {
  const host = await outsideFile();
  const dir = await writeProject({ 'main.py': '', 'rules/shale.txt': 'secret.txt\n', 'secret.txt': '' });
  await symlink('rules/shale.txt', join(dir, '.shaleignore'));
  assert.deepEqual((await collect(dir)).paths, [
    'dir:app',
    'dir:app/rules',
    'file:app/main.py',
    'file:app/rules/shale.txt',
    'symlink:app/.shaleignore->rules/shale.txt',
  ]);
  await symlink(join(host, 'shadow'), join(dir, '.dockerignore'));
  await assert.rejects(collect(dir), {
    code: 'SHALE_PATH_OUTSIDE',
    message: /\.dockerignore is a symlink to ".*shadow", which resolves to .*shadow, outside the project directory/,
  });
  const dir2 = await writeProject({ 'main.py': '' });
  await mkdir(join(dir2, '.dockerignore'));
  await assert.rejects(collect(dir2), { code: 'SHALE_IGNORE_UNREADABLE', message: /cannot read .*\.dockerignore/ });
});

test('secrets are left out by default and reported with the pattern; every default exclude works at any depth', async () => {
  const secrets = [
    '.env.production',
    '.env.local',
    '.envrc',
    'deploy/id_ed25519',
    'deploy/id_ed25519.pub',
    'deploy/id_ecdsa',
    'deploy/id_dsa',
    '.ssh/config',
    'home/.netrc',
    '.aws/credentials',
    'web/.npmrc',
    '.pypirc',
    '.git-credentials',
    'k8s/.dockerconfigjson',
    '.docker/config.json',
    'tls/server.key',
    'tls/client.p12',
    'tls/client.pfx',
    'nginx/.htpasswd',
  ];
  const dir = await writeProject({
    'main.py': '',
    '.docker/daemon.json': '{}',
    'docs/keyboard.md': '',
    ...Object.fromEntries(secrets.map((s) => [s, 'secret'])),
  });
  const { paths, events } = await collect(dir);
  assert.deepEqual(paths, [
    'dir:app',
    'dir:app/.docker',
    'dir:app/deploy',
    'dir:app/docs',
    'dir:app/home',
    'dir:app/k8s',
    'dir:app/nginx',
    'dir:app/tls',
    'dir:app/web',
    'file:app/.docker/daemon.json',
    'file:app/docs/keyboard.md',
    'file:app/main.py',
  ]);
  const notes = events.flatMap((e) => (e.type === 'excluded' ? [`${e.path} (${e.rule})`] : []));
  assert.ok(notes.includes('.env.production (default exclude .env*)'), notes.join('\n'));
  assert.ok(notes.includes('.ssh/ (default exclude .ssh)'), notes.join('\n'));
  assert.ok(notes.includes('.docker/config.json (default exclude .docker/config.json)'), notes.join('\n'));
  assert.equal(notes.length, secrets.length, 'one note per file (.ssh/config as the .ssh directory)');
  assert.deepEqual([...notes].sort(), notes, 'reported in path order');

  // Every pattern, at the top and two levels down.
  for (const pattern of DEFAULT_EXCLUDES) {
    const name = pattern.replace(/\*/g, 'x');
    const d = await writeProject({ 'main.py': '', [name]: '', [`a/b/${name}`]: '' });
    assert.deepEqual(
      (await collect(d)).paths.filter((p) => p.startsWith('file:')),
      ['file:app/main.py'],
      pattern,
    );
  }
});

test('a `!pattern` in .shaleignore takes back a file a default exclude leaves out, also inside a left-out directory', async () => {
  const dir = await writeProject({
    'main.py': '',
    '.env.example': 'KEY=',
    '.env': 'KEY=secret',
    '.ssh/known_hosts': 'h',
    '.ssh/id_ed25519': 'k',
    '.shaleignore': '!.env.example\n!.ssh/known_hosts\n',
  });
  const { paths, events } = await collect(dir);
  assert.deepEqual(paths, ['dir:app', 'file:app/.env.example', 'file:app/.shaleignore', 'file:app/.ssh/known_hosts', 'file:app/main.py']);
  assert.deepEqual(
    events.flatMap((e) => (e.type === 'excluded' ? [e.path] : [])),
    ['.env', '.ssh/'],
  );
  // `exclude` in the config works the same way, and the user's own exclusions stay quiet.
  const again = await collect(dir, dir, ['!.env', 'main.py']);
  assert.ok(again.paths.includes('file:app/.env'));
  assert.ok(!again.paths.includes('file:app/main.py'));
});

test('a name that is not UTF-8 is refused, naming it; left out by a pattern, it is fine', async () => {
  const dir = await writeProject({ 'main.py': '' });
  await writeFile(Buffer.concat([Buffer.from(`${dir}/r`), Buffer.from([0xe9]), Buffer.from('sum\u00e9.txt')]), 'x');
  await assert.rejects(collect(dir), { code: 'SHALE_NAME_NOT_UTF8', message: /^r\\xe9sumé\.txt has a name that is not valid UTF-8.*rename it.*\.shaleignore/ });
  await writeFile(join(dir, '.shaleignore'), 'r*sum*.txt\n');
  assert.deepEqual((await collect(dir)).paths, ['dir:app', 'file:app/.shaleignore', 'file:app/main.py']);
});

test('entryInputs hashes at most FS_BUDGET files at once, whatever their number', async () => {
  let open = 0;
  let most = 0;
  const entries: Entry[] = Array.from({ length: 500 }, (_, i) => ({
    type: 'file',
    path: `app/f${i}`,
    mode: 0o644,
    size: 1,
    open: async () => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setTimeout(r, 1));
      const s = Readable.from([Buffer.from('x')]);
      s.on('end', () => open--);
      return s;
    },
  }));
  const inputs = await entryInputs(entries);
  assert.equal(inputs.length, 501, 'the files and their parent directory');
  assert.ok(most <= FS_BUDGET, `${most} files were open at once`);
});
