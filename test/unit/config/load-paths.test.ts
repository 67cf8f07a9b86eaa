// Every path the config names is resolved with symlinks followed and must stay inside the
// project: app entries (strings and {from, to}), layer paths, lock (given or found), relative
// find-links directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBuildSpec } from '../../../src/config/load.js';
import { InputError } from '../../../src/errors.js';
import { writeProject } from '../../support/project.js';

const head = '[tool.shale]\nname = "hello"\nbase = "python:3.11-slim"\n';

async function host(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'shale-host-')));
  await writeFile(join(dir, 'shadow'), 'root:$6$verysecret:19000:0:99999:7:::\n');
  await mkdir(join(dir, 'lib'));
  await writeFile(join(dir, 'lib', '__init__.py'), '');
  return dir;
}

/** A project with `pyproject.toml` = head + extra and symlinks name → target. */
async function project(extra: string, links: Record<string, string>, files: Record<string, string> = {}): Promise<string> {
  const dir = await writeProject({ 'pyproject.toml': head + extra, 'main.py': '', ...files });
  for (const [name, target] of Object.entries(links)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await symlink(target, join(dir, name));
  }
  return dir;
}

async function outside(dir: string, key: RegExp, written: string, resolved: string): Promise<void> {
  await assert.rejects(loadBuildSpec(dir), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.code, 'SHALE_PATH_OUTSIDE');
    assert.match(e.message, key);
    assert.ok(e.message.includes(`path "${written}" resolves to ${resolved} (through a symlink), outside the project directory`), e.message);
    assert.doesNotMatch(e.message, /verysecret/);
    return true;
  });
}

test('app entries that are symlinks out of the project are refused (string and {from, to}, and through a parent)', async () => {
  const h = await host();
  await outside(await project('app = ["etclink"]\n', { etclink: '/etc' }), /`\[tool\.shale\]\.app\[0\]`/, 'etclink', '/etc');
  await outside(
    await project('app = ["main.py", { from = "cfg/shadow", to = "/etc/x" }]\n', { 'cfg/shadow': join(h, 'shadow') }),
    /`\[tool\.shale\]\.app\[1\]`/,
    'cfg/shadow',
    join(h, 'shadow'),
  );
  await outside(await project('app = ["hostdir/shadow"]\n', { hostdir: h }), /`\[tool\.shale\]\.app\[0\]`/, 'hostdir/shadow', join(h, 'shadow'));
});

test('app entries that are symlinks inside the project are followed; the image name is the one written', async () => {
  const dir = await project('app = ["current", "run.py"]\n', { current: 'releases/v2', 'run.py': 'releases/v2/main.py' }, { 'releases/v2/main.py': '' });
  const spec = await loadBuildSpec(dir);
  assert.deepEqual(spec.app, [
    { from: join(dir, 'releases/v2'), to: '/app', kind: 'dir' },
    { from: join(dir, 'releases/v2/main.py'), to: '/app/run.py', kind: 'file' },
  ]);
});

test('a dangling or looping app entry is a clear error', async () => {
  await assert.rejects(loadBuildSpec(await project('app = ["gone"]\n', { gone: 'nowhere' })), {
    code: 'SHALE_APP_MISSING',
    message: /`\[tool\.shale\]\.app\[0\]` path "gone" is a symlink to "nowhere", which does not exist/,
  });
  await assert.rejects(loadBuildSpec(await project('app = ["a"]\n', { a: 'b', b: 'a' })), {
    code: 'SHALE_SYMLINK_LOOP',
    message: /`\[tool\.shale\]\.app\[0\]` path "a" is a symlink to "b" that never resolves/,
  });
});

test('a lock that is a symlink out of the project is refused before it is read, given or found by default', async () => {
  const h = await host();
  await outside(
    await project('lock = "requirements.txt"\n', { 'requirements.txt': join(h, 'shadow') }),
    /`\[tool\.shale\]\.lock`/,
    'requirements.txt',
    join(h, 'shadow'),
  );
  await outside(
    await project('', { 'requirements.txt': join(h, 'shadow') }),
    /the default lock \(no `lock` key; found requirements\.txt\)/,
    'requirements.txt',
    join(h, 'shadow'),
  );
  // Inside the project, a symlinked lock is fine.
  const ok = await project('', { 'requirements.txt': 'locks/prod.txt' }, { 'locks/prod.txt': 'six==1.17.0\n' });
  assert.equal((await loadBuildSpec(ok)).lock, join(ok, 'locks/prod.txt'));
});

test('layer paths that are symlinks out of the project are refused', async () => {
  const h = await host();
  await outside(
    await project('[[tool.shale.layers]]\nname = "libs"\npaths = ["libs/core"]\n', { 'libs/core': join(h, 'lib') }),
    /`\[tool\.shale\]\.layers\[0\]\.paths\[0\]`/,
    'libs/core',
    join(h, 'lib'),
  );
});

test('relative find-links directories must stay inside; absolute paths and URLs name wheels anywhere on purpose', async () => {
  const h = await host();
  await outside(await project('find-links = ["wheels"]\n', { wheels: h }), /`\[tool\.shale\]\.find-links\[0\]`/, 'wheels', h);
  const spec = await loadBuildSpec(await project(`find-links = [${JSON.stringify(h)}, "https://example.com/wheels/", "missing"]\n`, {}));
  assert.deepEqual(spec.findLinks, [h, 'https://example.com/wheels/', 'missing'], 'kept as written; a missing one is reported when it is looked in');
});

test('a project reached through a symlink works, with real paths', async () => {
  const dir = await writeProject({ 'pyproject.toml': head, 'main.py': '' });
  const via = join(await mkdtemp(join(tmpdir(), 'shale-via-')), 'project');
  await symlink(dir, via);
  const spec = await loadBuildSpec(via);
  assert.equal(spec.projectDir, dir);
  assert.deepEqual(spec.app, [{ from: dir, to: '/app', kind: 'dir' }]);
});

test('a configuration file that is a symlink out of the project is refused before it is read', async () => {
  const h = await host();
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'shale-cfglink-')));
  await symlink(join(h, 'shadow'), join(dir, 'shale.toml'));
  await assert.rejects(loadBuildSpec(dir), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.code, 'SHALE_PATH_OUTSIDE');
    assert.match(e.message, /shale\.toml is a symlink to .*shadow, outside the project directory/);
    assert.doesNotMatch(e.message, /verysecret/);
    return true;
  });
});
