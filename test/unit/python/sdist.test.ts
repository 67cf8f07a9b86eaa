// sdist-only packages, the parts that run no build: a sdist is verified against the lock and
// unpacked safely before any python runs; hostile archives, hash mismatches and a missing host
// python are errors naming the package. The builds themselves (pip wheel with the host's
// python3.11) are in test/e2e/python-sdist.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { resolveWheel } from '../../../src/python/finder.js';
import { Cache } from '../../../src/store/cache.js';
import type { LockedPackage } from '../../../src/python/requirements.js';
import { extractSdist } from '../../../src/python/safe-extract.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { sdistMembers, withPython, writeTarGz } from '../../support/sdist.js';
import { cleanup, tempDir, writeZip } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const pkg = (name: string, version = '1.0', hashes: string[] = []): LockedPackage => ({ name, version, hashes, source: { file: 'requirements.txt', line: 7 } });
const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('sdist-only packages', () => {
  let dir = '';
  let sdists = '';
  let tinySha = '';
  const events: ShaleEvent[] = [];
  const sink = (e: ShaleEvent): void => void events.push(e);
  const builds = (): number => events.filter((e) => e.type === 'log' && /^building a wheel from/.test(e.message)).length;
  const sources = (): { findLinks: string[]; noIndex: boolean; projectDir: string } => ({ findLinks: ['sdists'], noIndex: true, projectDir: dir });

  before(async () => {
    dir = await tempDir('shale-sdist-');
    sdists = join(dir, 'sdists');
    await mkdir(sdists);
    await writeTarGz(join(sdists, 'tinypkg-1.0.tar.gz'), sdistMembers('tinypkg'));
    await writeTarGz(join(sdists, 'evilpkg-1.0.tar.gz'), [...sdistMembers('evilpkg'), { name: 'evilpkg-1.0/../../escaped.txt', data: 'gotcha' }]);
    await writeTarGz(join(sdists, 'linkpkg-1.0.tar.gz'), [...sdistMembers('linkpkg'), { name: 'linkpkg-1.0/out', type: 'symlink', linkname: '../../..' }]);
    await writeTarGz(join(sdists, 'throughpkg-1.0.tar.gz'), [
      ...sdistMembers('throughpkg'),
      { name: 'throughpkg-1.0/inner', type: 'symlink', linkname: 'src' },
      { name: 'throughpkg-1.0/inner/x.py', data: 'x' },
    ]);
    tinySha = await sha(join(sdists, 'tinypkg-1.0.tar.gz'));
  });
  after(() => cleanup(dir));

  it('a hash mismatch on the sdist fails before any build', async () => {
    const before = builds();
    await assert.rejects(resolveWheel(pkg('tinypkg', '1.0', [`sha256:${'0'.repeat(64)}`]), amd64, sources(), Cache.open(join(dir, 'cache-h')), sink), {
      code: 'SHALE_HASH_MISMATCH',
      message: new RegExp(`tinypkg-1\\.0\\.tar\\.gz of tinypkg==1\\.0 .*sha256:${tinySha}`),
    });
    assert.equal(builds(), before);
  });

  it("no host python of the image's X.Y: says which one and that a wheel avoids the build", async () => {
    await withPython('/nonexistent/python3.11', () =>
      assert.rejects(resolveWheel(pkg('tinypkg'), amd64, sources(), Cache.open(join(dir, 'cache-nopy')), sink), {
        code: 'SHALE_NO_HOST_PYTHON',
        message: /only a source distribution needs a CPython 3\.11 .*SHALE_PYTHON=\/nonexistent\/python3\.11.*add a wheel of the package to find-links/,
      }),
    );
    assert.equal(builds(), 0);
  });

  it('a member with ../ is refused, and nothing is written outside', async () => {
    await assert.rejects(resolveWheel(pkg('evilpkg'), amd64, sources(), Cache.open(join(dir, 'cache')), sink), {
      code: 'SHALE_SDIST_UNSAFE_PATH',
      message: /"evilpkg-1\.0\/\.\.\/\.\.\/escaped\.txt" that contains "\.\."/,
    });
    await assert.rejects(access(join(dir, 'escaped.txt')));
  });

  it('symlinks out of the archive, and members written through a symlink, are refused', async () => {
    await assert.rejects(resolveWheel(pkg('linkpkg'), amd64, sources(), Cache.open(join(dir, 'cache')), sink), {
      code: 'SHALE_SDIST_UNSAFE_PATH',
      message: /"linkpkg-1\.0\/out" that is a symlink to "\.\.\/\.\.\/\.\."/,
    });
    await assert.rejects(resolveWheel(pkg('throughpkg'), amd64, sources(), Cache.open(join(dir, 'cache')), sink), {
      code: 'SHALE_SDIST_UNSAFE_PATH',
      message: /goes through the symlink "throughpkg-1\.0\/inner"/,
    });
  });

  it('extractSdist refuses absolute names and zip-slip, and returns the single top directory', async () => {
    const abs = join(dir, 'abs.tar.gz');
    await writeTarGz(abs, [{ name: '/etc/evil', data: 'x' }]);
    await assert.rejects(extractSdist(abs, join(dir, 'x-abs'), 'abs.tar.gz'), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /is an absolute path/ });
    const zipSlip = join(dir, 'slip.zip');
    writeZip(zipSlip, [{ name: 'slip-1.0/../../escaped.txt', data: 'x' }]);
    await assert.rejects(extractSdist(zipSlip, join(dir, 'x-zip'), 'slip-1.0.zip'), {
      code: 'SHALE_SDIST_UNSAFE_PATH',
      message: /slip-1\.0\.zip has a member "slip-1\.0\/\.\.\/\.\.\/escaped\.txt" that contains "\.\."/,
    });
    await assert.rejects(access(join(dir, 'escaped.txt')));
    const top = await extractSdist(join(sdists, 'tinypkg-1.0.tar.gz'), join(dir, 'x-ok'), 'tinypkg-1.0.tar.gz');
    assert.equal(top, join(dir, 'x-ok', 'tinypkg-1.0'));
    assert.deepEqual((await readdir(top)).sort(), ['PKG-INFO', 'backend.py', 'pyproject.toml', 'src']);
  });
});
