// End to end: sdist-only packages built by the host's python3.11 (pip wheel, no isolation, no
// index) into a wheel cached by the sdist's hash; native code and failing builds are errors
// naming the package. The parts that run no build are in test/unit/python/sdist.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShaleEvent } from '../../src/events.js';
import { resolveWheel } from '../../src/python/finder.js';
import { Cache } from '../../src/store/cache.js';
import { installWheel } from '../../src/python/install.js';
import { pythonLayout } from '../../src/python/layout.js';
import type { LockedPackage } from '../../src/python/requirements.js';
import type { TargetEnv } from '../../src/python/tags.js';
import { sdistMembers, withPython, writeTarGz } from '../support/sdist.js';
import { cleanup, entryText, tempDir, writeZip } from '../unit/python/helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const pkg = (name: string, version = '1.0', hashes: string[] = []): LockedPackage => ({ name, version, hashes, source: { file: 'requirements.txt', line: 7 } });
const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

/** A python that can build setuptools sdists without isolation (setuptools and wheel importable), if any. */
function setuptoolsPython(): string | undefined {
  for (const py of ['python3.11', '/usr/bin/python3.11']) {
    try {
      execFileSync(py, ['-c', 'import sys, setuptools, wheel; assert sys.version_info[:2] == (3, 11)'], { stdio: 'ignore' });
      return py;
    } catch {
      /* next */
    }
  }
  return undefined;
}

describe('sdist-only packages: builds', () => {
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
    await writeTarGz(join(sdists, 'nativepkg-1.0.tar.gz'), sdistMembers('nativepkg', 'cp311-cp311-linux_x86_64'));
    await writeTarGz(join(sdists, 'failpkg-1.0.tar.gz'), sdistMembers('failpkg', 'py3-none-any', true));
    writeZip(
      join(sdists, 'zippkg-1.0.zip'),
      sdistMembers('zippkg')
        .filter((m) => m.type !== 'directory')
        .map((m) => ({ name: m.name, data: m.data ?? '' })),
    );
    tinySha = await sha(join(sdists, 'tinypkg-1.0.tar.gz'));
  });
  after(() => cleanup(dir));

  it('builds a pure wheel from the sdist with pip, installable, and caches it by the sdist hash', async () => {
    const cache = join(dir, 'cache');
    const choice = await resolveWheel(pkg('tinypkg', '1.0', [`sha256:${tinySha}`]), amd64, sources(), Cache.open(cache), sink);
    assert.equal(builds(), 1);
    assert.equal(choice.filename, 'tinypkg-1.0-py3-none-any.whl');
    assert.equal(choice.pure, true);
    const cached = join(cache, 'built-wheels', tinySha, choice.filename);
    assert.equal(choice.sha256, await sha(cached), "the fingerprint hash is the built wheel's own");
    assert.equal((await readFile(`${cached}.sha256`, 'utf8')).trim(), choice.sha256);
    assert.equal(choice.size, (await readFile(cached)).length);
    // The backend saw a fixed SOURCE_DATE_EPOCH and PYTHONHASHSEED=0 (it writes them into dist-info/build-env).
    const file = await choice.fetch();
    assert.equal(file.path, cached);
    const dist = await installWheel(file, pythonLayout('debian', '3.11'));
    assert.ok(dist.files.includes('usr/local/lib/python3.11/dist-packages/tinypkg/__init__.py'), dist.files.join(', '));
    assert.equal(await entryText(dist.entries, 'usr/local/lib/python3.11/dist-packages/tinypkg-1.0.dist-info/build-env'), '315532800 0');
  });

  it('a second resolve uses the cached wheel: no pip run, no host python needed', async () => {
    const before = builds();
    const again = await withPython('/nonexistent/python3.11', () =>
      resolveWheel(pkg('tinypkg', '1.0'), amd64, sources(), Cache.open(join(dir, 'cache')), sink),
    );
    assert.equal(builds(), before);
    assert.equal(again.sha256, await sha(join(dir, 'cache', 'built-wheels', tinySha, again.filename)));
    assert.equal((await again.fetch()).sha256, again.sha256);
  });

  it('a damaged cached wheel (not matching its sidecar) is rebuilt', async () => {
    const cache = join(dir, 'cache');
    const first = await resolveWheel(pkg('tinypkg'), amd64, sources(), Cache.open(cache), sink);
    await writeFile(join(cache, 'built-wheels', tinySha, first.filename), 'damaged');
    const before = builds();
    const again = await resolveWheel(pkg('tinypkg'), amd64, sources(), Cache.open(cache), sink);
    assert.equal(builds(), before + 1);
    assert.equal(again.sha256, first.sha256, 'the same machine builds the same bytes (fixed SOURCE_DATE_EPOCH)');
  });

  it('a .zip sdist is built too', async () => {
    const choice = await resolveWheel(pkg('zippkg'), amd64, sources(), Cache.open(join(dir, 'cache-zip')), sink);
    assert.equal(choice.filename, 'zippkg-1.0-py3-none-any.whl');
  });

  it('an sdist that builds a platform wheel has native code: an error naming the package and what to provide', async () => {
    const before = builds();
    await assert.rejects(resolveWheel(pkg('nativepkg'), amd64, sources(), Cache.open(join(dir, 'cache')), sink), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SHALE_SDIST_NATIVE');
      assert.match(err.message, /nativepkg==1\.0 .*native code.*nativepkg-1\.0-cp311-cp311-linux_x86_64\.whl/);
      assert.match(err.message, /wheel of nativepkg for the target platform.*lock a version/);
      return true;
    });
    assert.equal(builds(), before + 1);
    await assert.rejects(access(join(dir, 'cache', 'built-wheels', await sha(join(sdists, 'nativepkg-1.0.tar.gz')))), 'a native wheel is not cached');
  });

  it("a failing build is an input error with the end of pip's output", async () => {
    await assert.rejects(resolveWheel(pkg('failpkg'), amd64, sources(), Cache.open(join(dir, 'cache')), sink), {
      code: 'SHALE_SDIST_BUILD',
      message: /failpkg==1\.0 from its sdist failpkg-1\.0\.tar\.gz failed.*pip wheel exited 1:.*failpkg: this build fails on purpose/s,
    });
  });

  const stPy = setuptoolsPython();
  it(
    'a real setuptools sdist (pyproject.toml + src layout) builds a pure wheel',
    { skip: stPy ? false : 'no python3.11 with setuptools and wheel on this machine' },
    async () => {
      const st = join(dir, 'st');
      await mkdir(st);
      await writeTarGz(join(st, 'stpkg-1.0.tar.gz'), [
        {
          name: 'stpkg-1.0/pyproject.toml',
          data: '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "stpkg"\nversion = "1.0"\n',
        },
        { name: 'stpkg-1.0/src/stpkg/__init__.py', data: 'X = 1\n' },
        { name: 'stpkg-1.0/PKG-INFO', data: 'Metadata-Version: 2.1\nName: stpkg\nVersion: 1.0\n' },
      ]);
      const choice = await withPython(stPy, () =>
        resolveWheel(pkg('stpkg'), amd64, { findLinks: ['st'], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'cache-st')), sink),
      );
      assert.equal(choice.filename, 'stpkg-1.0-py3-none-any.whl');
      const dist = await installWheel(await choice.fetch(), pythonLayout('debian', '3.11'));
      assert.ok(dist.files.includes('usr/local/lib/python3.11/dist-packages/stpkg/__init__.py'));
    },
  );

  it(
    'a real setuptools sdist whose distribution has ext modules builds a platform wheel: native code',
    { skip: stPy ? false : 'no python3.11 with setuptools and wheel on this machine' },
    async () => {
      const st = join(dir, 'st-native');
      await mkdir(st);
      const setupPy =
        'from setuptools import setup\nfrom setuptools.dist import Distribution\nclass D(Distribution):\n    def has_ext_modules(self):\n        return True\nsetup(name="stnative", version="1.0", packages=["stnative"], distclass=D)\n';
      await writeTarGz(join(st, 'stnative-1.0.tar.gz'), [
        { name: 'stnative-1.0/setup.py', data: setupPy },
        { name: 'stnative-1.0/stnative/__init__.py', data: 'X = 1\n' },
        { name: 'stnative-1.0/PKG-INFO', data: 'Metadata-Version: 2.1\nName: stnative\nVersion: 1.0\n' },
      ]);
      await withPython(stPy, () =>
        assert.rejects(
          resolveWheel(pkg('stnative'), amd64, { findLinks: ['st-native'], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'cache-st')), sink),
          {
            code: 'SHALE_SDIST_NATIVE',
            message: /stnative==1\.0 .*native code: building it here made stnative-1\.0-cp311-cp311-linux_\w+\.whl/,
          },
        ),
      );
    },
  );
});
