// walkTree: symlinks are never followed and must stay inside the project; non-UTF-8 names are
// refused; printableName makes any name safe to print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../src/errors.js';
import { isInside, printableName, utf8Name, walkTree, type WalkOptions } from '../../../src/plan/host-paths.js';
import { writeProject } from '../../support/project.js';

const opts = (root: string, over: Partial<WalkOptions> = {}): WalkOptions => ({ root, choose: () => 'in', label: (rel) => rel, fix: 'leave it out', ...over });

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

test('files, directories and inside symlinks are listed; symlinks are not followed', async () => {
  const dir = await writeProject({ 'a.py': 'x', 'pkg/b.py': 'yy', 'data/big.bin': '1234' });
  await symlink('a.py', join(dir, 'alias.py'));
  await symlink('b.py', join(dir, 'pkg', 'b-link.py'));
  await symlink('../data', join(dir, 'pkg', 'up'));
  const items = await walkTree(dir, opts(dir));
  const shown = items.map((i) => `${i.kind}:${i.rel}${i.kind === 'symlink' ? `->${i.target}` : ''}`).sort();
  assert.deepEqual(shown, [
    'dir:data',
    'dir:pkg',
    'file:a.py',
    'file:data/big.bin',
    'file:pkg/b.py',
    'symlink:alias.py->a.py',
    'symlink:pkg/b-link.py->b.py',
    'symlink:pkg/up->../data',
  ]);
  const b = items.find((i) => i.rel === 'pkg/b.py');
  assert.equal(b?.kind === 'file' ? b.size : -1, 2);
});

test('a symlink out of the project is refused, naming it, its target and where it resolves', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'shale-outside-'));
  await writeFile(join(outside, 'shadow'), 'root:secret');
  const dir = await writeProject({ 'ok.py': '' });
  await mkdir(join(dir, 'conf'));
  await symlink(join(outside, 'shadow'), join(dir, 'conf', 'secret'));
  await refused(
    walkTree(dir, opts(dir)),
    'SHALE_PATH_OUTSIDE',
    new RegExp(`conf/secret is a symlink to "${outside}/shadow", which resolves to ${outside}/shadow, outside the project directory ${dir}.*leave it out`),
  );
  // Relative, through a directory: the same.
  const dir2 = await writeProject({ 'ok.py': '' });
  await symlink('../../../../../../../../etc', join(dir2, 'etc'));
  await refused(walkTree(dir2, opts(dir2)), 'SHALE_PATH_OUTSIDE', /etc is a symlink to "(\.\.\/)+etc", which resolves to \/etc, outside/);
  // Left out by the caller: never looked at.
  assert.deepEqual(
    (await walkTree(dir2, opts(dir2, { choose: (rel) => (rel === 'etc' ? 'out' : 'in') }))).map((i) => i.rel),
    ['ok.py'],
  );
});

test('an absolute symlink into the project, a loop and a dangling symlink', async () => {
  const dir = await writeProject({ 'a.py': '' });
  await symlink(join(dir, 'a.py'), join(dir, 'abs.py'));
  await refused(
    walkTree(dir, opts(dir)),
    'SHALE_SYMLINK_ABSOLUTE',
    /abs\.py is a symlink to the absolute path ".*\/a\.py".*make it relative \(ln -sfn a\.py <link>\)/,
  );

  const loop = await writeProject({ 'a.py': '' });
  await symlink('two', join(loop, 'one'));
  await symlink('one', join(loop, 'two'));
  await refused(walkTree(loop, opts(loop)), 'SHALE_SYMLINK_LOOP', /one is a symlink to "two" that never resolves \(a loop/);

  const dangling = await writeProject({ 'a.py': '' });
  await symlink('gone.py', join(dangling, 'lost.py'));
  const items = await walkTree(dangling, opts(dangling));
  assert.deepEqual(
    items.find((i) => i.rel === 'lost.py'),
    { kind: 'dangling', rel: 'lost.py', abs: join(dangling, 'lost.py'), target: 'gone.py' },
  );
});

test('a name that is not UTF-8 is refused unless left out; printableName escapes its bytes', async () => {
  const dir = await writeProject({ 'a.py': '' });
  await mkdir(join(dir, 'data'));
  const bad = Buffer.concat([Buffer.from(join(dir, 'data', 'caf')), Buffer.from([0xe9]), Buffer.from('.csv')]);
  await writeFile(bad, 'latin-1 name');
  await refused(walkTree(dir, opts(dir)), 'SHALE_NAME_NOT_UTF8', /^data\/caf\\xe9\.csv has a name that is not valid UTF-8.*rename it.*leave it out$/);
  const chosen: string[] = [];
  const items = await walkTree(dir, opts(dir, { choose: (rel) => (chosen.push(rel), rel.endsWith('.csv') ? 'out' : 'in') }));
  assert.deepEqual(items.map((i) => i.rel).sort(), ['a.py', 'data']);
  assert.ok(chosen.includes('data/caf\ufffd.csv'), 'patterns see the name decoded lossily');

  assert.equal(utf8Name(Buffer.from('ok é')), 'ok é');
  assert.equal(utf8Name(Buffer.from([0x61, 0xff])), undefined);
  assert.equal(printableName(Buffer.from([0x61, 0xc3, 0xa9, 0xff, 0x1b, 0x5b, 0x32, 0x4a, 0xe2, 0x82])), 'aé\\xff\\x1b[2J\\xe2\\x82');
});

test('isInside compares whole components', () => {
  assert.equal(isInside('/p', '/p'), true);
  assert.equal(isInside('/p', '/p/a/b'), true);
  assert.equal(isInside('/p', '/p2/a'), false);
  assert.equal(isInside('/p', '/'), false);
  assert.equal(isInside('/p', '/p/..x'), true);
});
