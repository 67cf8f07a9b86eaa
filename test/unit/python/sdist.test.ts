// sdist-only packages: a pure sdist is unpacked safely and built by the host's python3.11 (pip
// wheel, no isolation, no index) into a wheel cached by the sdist's hash; native code, hash
// mismatches, failing builds and hostile archives are errors naming the package.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import type { ShaleEvent } from '../../../src/events.js';
import { resolveWheel } from '../../../src/python/finder.js';
import { installWheel } from '../../../src/python/install.js';
import { pythonLayout } from '../../../src/python/layout.js';
import type { LockedPackage } from '../../../src/python/requirements.js';
import { extractSdist } from '../../../src/python/safe-extract.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, entryText, tempDir, writeZip } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const pkg = (name: string, version = '1.0', hashes: string[] = []): LockedPackage => ({ name, version, hashes, source: { file: 'requirements.txt', line: 7 } });
const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

interface TarMember {
  name: string;
  data?: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/** Writes a .tar.gz with exactly these members (names unchecked, so hostile ones can be made). */
async function writeTarGz(path: string, members: TarMember[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(path));
  for (const m of members) {
    const type = m.type ?? 'file';
    const header = { name: m.name, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), type, ...(m.linkname ? { linkname: m.linkname } : {}) };
    if (type === 'file') pack.entry(header, Buffer.from(m.data ?? ''));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
}

/**
 * An in-tree PEP 517 backend that zips the wheel itself, so the test needs no setuptools or
 * `wheel` on the host: `tag` decides pure or native, `fail` makes the build fail.
 */
function backend(name: string, tag: string, fail = false): string {
  return `import base64, hashlib, os, time, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if ${fail ? 'True' : 'False'}:
        raise SystemExit("${name}: this build fails on purpose")
    di = "${name}-1.0.dist-info"
    files = {"${name}/__init__.py": open("src/${name}/__init__.py", "rb").read(),
             di + "/METADATA": b"Metadata-Version: 2.1\\nName: ${name}\\nVersion: 1.0\\n",
             di + "/build-env": ("%s %s" % (os.environ["SOURCE_DATE_EPOCH"], os.environ["PYTHONHASHSEED"])).encode(),
             di + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: ${tag.endsWith('-any') ? 'true' : 'false'}\\nTag: ${tag}\\n"}
    h = lambda d: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    rec = "".join("%s,%s,%d\\n" % (n, h(d), len(d)) for n, d in files.items()) + di + "/RECORD,,\\n"
    files[di + "/RECORD"] = rec.encode()
    fn = "${name}-1.0-${tag}.whl"
    stamp = time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"]))[:6]
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as z:
        for n, d in files.items():
            z.writestr(zipfile.ZipInfo(n, stamp), d)
    return fn
`;
}

/** The members of a small sdist `<name>-1.0/` built by {@link backend}. */
function sdistMembers(name: string, tag = 'py3-none-any', fail = false): TarMember[] {
  const root = `${name}-1.0`;
  return [
    { name: `${root}/`, type: 'directory' },
    { name: `${root}/pyproject.toml`, data: `[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n` },
    { name: `${root}/backend.py`, data: backend(name, tag, fail) },
    { name: `${root}/PKG-INFO`, data: `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n` },
    { name: `${root}/src/${name}/__init__.py`, data: `GREETING = "hello from ${name}"\n` },
  ];
}

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

describe('sdist-only packages', () => {
  let dir = '';
  let sdists = '';
  let tinySha = '';
  const events: ShaleEvent[] = [];
  const sink = (e: ShaleEvent): void => void events.push(e);
  const builds = (): number => events.filter((e) => e.type === 'log' && /^building a wheel from/.test(e.message)).length;
  const sources = (): { findLinks: string[]; noIndex: boolean; projectDir: string } => ({ findLinks: ['sdists'], noIndex: true, projectDir: dir });

  /** Runs fn with SHALE_PYTHON set (or unset), restoring it after. */
  async function withPython<T>(py: string | undefined, fn: () => Promise<T>): Promise<T> {
    const old = process.env['SHALE_PYTHON'];
    if (py === undefined) delete process.env['SHALE_PYTHON'];
    else process.env['SHALE_PYTHON'] = py;
    try {
      return await fn();
    } finally {
      if (old === undefined) delete process.env['SHALE_PYTHON'];
      else process.env['SHALE_PYTHON'] = old;
    }
  }

  before(async () => {
    dir = await tempDir('shale-sdist-');
    sdists = join(dir, 'sdists');
    await mkdir(sdists);
    await writeTarGz(join(sdists, 'tinypkg-1.0.tar.gz'), sdistMembers('tinypkg'));
    await writeTarGz(join(sdists, 'nativepkg-1.0.tar.gz'), sdistMembers('nativepkg', 'cp311-cp311-linux_x86_64'));
    await writeTarGz(join(sdists, 'failpkg-1.0.tar.gz'), sdistMembers('failpkg', 'py3-none-any', true));
    await writeTarGz(join(sdists, 'evilpkg-1.0.tar.gz'), [...sdistMembers('evilpkg'), { name: 'evilpkg-1.0/../../escaped.txt', data: 'gotcha' }]);
    await writeTarGz(join(sdists, 'linkpkg-1.0.tar.gz'), [
      ...sdistMembers('linkpkg'),
      { name: 'linkpkg-1.0/out', type: 'symlink', linkname: '../../..' },
    ]);
    await writeTarGz(join(sdists, 'throughpkg-1.0.tar.gz'), [
      ...sdistMembers('throughpkg'),
      { name: 'throughpkg-1.0/inner', type: 'symlink', linkname: 'src' },
      { name: 'throughpkg-1.0/inner/x.py', data: 'x' },
    ]);
    writeZip(join(sdists, 'zippkg-1.0.zip'), sdistMembers('zippkg').filter((m) => m.type !== 'directory').map((m) => ({ name: m.name, data: m.data ?? '' })));
    tinySha = await sha(join(sdists, 'tinypkg-1.0.tar.gz'));
  });
  after(() => cleanup(dir));

  it('builds a pure wheel from the sdist with pip, installable, and caches it by the sdist hash', async () => {
    const cache = join(dir, 'cache');
    const choice = await resolveWheel(pkg('tinypkg', '1.0', [`sha256:${tinySha}`]), amd64, sources(), cache, sink);
    assert.equal(builds(), 1);
    assert.equal(choice.filename, 'tinypkg-1.0-py3-none-any.whl');
    assert.equal(choice.pure, true);
    const cached = join(cache, 'built-wheels', tinySha, choice.filename);
    assert.equal(choice.sha256, await sha(cached), 'the fingerprint hash is the built wheel\'s own');
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
    const again = await withPython('/nonexistent/python3.11', () => resolveWheel(pkg('tinypkg', '1.0'), amd64, sources(), join(dir, 'cache'), sink));
    assert.equal(builds(), before);
    assert.equal(again.sha256, await sha(join(dir, 'cache', 'built-wheels', tinySha, again.filename)));
    assert.equal((await again.fetch()).sha256, again.sha256);
  });

  it('a damaged cached wheel (not matching its sidecar) is rebuilt', async () => {
    const cache = join(dir, 'cache');
    const first = await resolveWheel(pkg('tinypkg'), amd64, sources(), cache, sink);
    await writeFile(join(cache, 'built-wheels', tinySha, first.filename), 'damaged');
    const before = builds();
    const again = await resolveWheel(pkg('tinypkg'), amd64, sources(), cache, sink);
    assert.equal(builds(), before + 1);
    assert.equal(again.sha256, first.sha256, 'the same machine builds the same bytes (fixed SOURCE_DATE_EPOCH)');
  });

  it('a .zip sdist is built too', async () => {
    const choice = await resolveWheel(pkg('zippkg'), amd64, sources(), join(dir, 'cache-zip'), sink);
    assert.equal(choice.filename, 'zippkg-1.0-py3-none-any.whl');
  });

  it('an sdist that builds a platform wheel has native code: an error naming the package and what to provide', async () => {
    const before = builds();
    await assert.rejects(resolveWheel(pkg('nativepkg'), amd64, sources(), join(dir, 'cache'), sink), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SHALE_SDIST_NATIVE');
      assert.match(err.message, /nativepkg==1\.0 .*native code.*nativepkg-1\.0-cp311-cp311-linux_x86_64\.whl/);
      assert.match(err.message, /wheel of nativepkg for the target platform.*lock a version/);
      return true;
    });
    assert.equal(builds(), before + 1);
    await assert.rejects(access(join(dir, 'cache', 'built-wheels', await sha(join(sdists, 'nativepkg-1.0.tar.gz')))), 'a native wheel is not cached');
  });

  it('a hash mismatch on the sdist fails before any build', async () => {
    const before = builds();
    await assert.rejects(resolveWheel(pkg('tinypkg', '1.0', [`sha256:${'0'.repeat(64)}`]), amd64, sources(), join(dir, 'cache-h'), sink), {
      code: 'SHALE_HASH_MISMATCH',
      message: new RegExp(`tinypkg-1\\.0\\.tar\\.gz of tinypkg==1\\.0 .*sha256:${tinySha}`),
    });
    assert.equal(builds(), before);
  });

  it('a failing build is an input error with the end of pip\'s output', async () => {
    await assert.rejects(resolveWheel(pkg('failpkg'), amd64, sources(), join(dir, 'cache'), sink), {
      code: 'SHALE_SDIST_BUILD',
      message: /failpkg==1\.0 from its sdist failpkg-1\.0\.tar\.gz failed.*pip wheel exited 1:.*failpkg: this build fails on purpose/s,
    });
  });

  it('no host python of the image\'s X.Y: says which one and that a wheel avoids the build', async () => {
    await withPython('/nonexistent/python3.11', () =>
      assert.rejects(resolveWheel(pkg('tinypkg'), amd64, sources(), join(dir, 'cache-nopy'), sink), {
        code: 'SHALE_NO_HOST_PYTHON',
        message: /only a source distribution needs a CPython 3\.11 .*SHALE_PYTHON=\/nonexistent\/python3\.11.*add a wheel of the package to find-links/,
      }),
    );
  });

  it('a member with ../ is refused, and nothing is written outside', async () => {
    await assert.rejects(resolveWheel(pkg('evilpkg'), amd64, sources(), join(dir, 'cache'), sink), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /"evilpkg-1\.0\/\.\.\/\.\.\/escaped\.txt" that contains "\.\."/ });
    await assert.rejects(access(join(dir, 'escaped.txt')));
  });

  it('symlinks out of the archive, and members written through a symlink, are refused', async () => {
    await assert.rejects(resolveWheel(pkg('linkpkg'), amd64, sources(), join(dir, 'cache'), sink), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /"linkpkg-1\.0\/out" that is a symlink to "\.\.\/\.\.\/\.\."/ });
    await assert.rejects(resolveWheel(pkg('throughpkg'), amd64, sources(), join(dir, 'cache'), sink), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /goes through the symlink "throughpkg-1\.0\/inner"/ });
  });

  it('extractSdist refuses absolute names and zip-slip, and returns the single top directory', async () => {
    const abs = join(dir, 'abs.tar.gz');
    await writeTarGz(abs, [{ name: '/etc/evil', data: 'x' }]);
    await assert.rejects(extractSdist(abs, join(dir, 'x-abs'), 'abs.tar.gz'), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /is an absolute path/ });
    const zipSlip = join(dir, 'slip.zip');
    writeZip(zipSlip, [{ name: 'slip-1.0/../../escaped.txt', data: 'x' }]);
    await assert.rejects(extractSdist(zipSlip, join(dir, 'x-zip'), 'slip-1.0.zip'), { code: 'SHALE_SDIST_UNSAFE_PATH', message: /slip-1\.0\.zip has a member "slip-1\.0\/\.\.\/\.\.\/escaped\.txt" that contains "\.\."/ });
    await assert.rejects(access(join(dir, 'escaped.txt')));
    const top = await extractSdist(join(sdists, 'tinypkg-1.0.tar.gz'), join(dir, 'x-ok'), 'tinypkg-1.0.tar.gz');
    assert.equal(top, join(dir, 'x-ok', 'tinypkg-1.0'));
    assert.deepEqual((await readdir(top)).sort(), ['PKG-INFO', 'backend.py', 'pyproject.toml', 'src']);
  });

  const stPy = setuptoolsPython();
  it('a real setuptools sdist (pyproject.toml + src layout) builds a pure wheel', { skip: stPy ? false : 'no python3.11 with setuptools and wheel on this machine' }, async () => {
    const st = join(dir, 'st');
    await mkdir(st);
    await writeTarGz(join(st, 'stpkg-1.0.tar.gz'), [
      { name: 'stpkg-1.0/pyproject.toml', data: '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "stpkg"\nversion = "1.0"\n' },
      { name: 'stpkg-1.0/src/stpkg/__init__.py', data: 'X = 1\n' },
      { name: 'stpkg-1.0/PKG-INFO', data: 'Metadata-Version: 2.1\nName: stpkg\nVersion: 1.0\n' },
    ]);
    const choice = await withPython(stPy, () => resolveWheel(pkg('stpkg'), amd64, { findLinks: ['st'], noIndex: true, projectDir: dir }, join(dir, 'cache-st'), sink));
    assert.equal(choice.filename, 'stpkg-1.0-py3-none-any.whl');
    const dist = await installWheel(await choice.fetch(), pythonLayout('debian', '3.11'));
    assert.ok(dist.files.includes('usr/local/lib/python3.11/dist-packages/stpkg/__init__.py'));
  });

  it('a real setuptools sdist whose distribution has ext modules builds a platform wheel: native code', { skip: stPy ? false : 'no python3.11 with setuptools and wheel on this machine' }, async () => {
    const st = join(dir, 'st-native');
    await mkdir(st);
    const setupPy = 'from setuptools import setup\nfrom setuptools.dist import Distribution\nclass D(Distribution):\n    def has_ext_modules(self):\n        return True\nsetup(name="stnative", version="1.0", packages=["stnative"], distclass=D)\n';
    await writeTarGz(join(st, 'stnative-1.0.tar.gz'), [
      { name: 'stnative-1.0/setup.py', data: setupPy },
      { name: 'stnative-1.0/stnative/__init__.py', data: 'X = 1\n' },
      { name: 'stnative-1.0/PKG-INFO', data: 'Metadata-Version: 2.1\nName: stnative\nVersion: 1.0\n' },
    ]);
    await withPython(stPy, () =>
      assert.rejects(resolveWheel(pkg('stnative'), amd64, { findLinks: ['st-native'], noIndex: true, projectDir: dir }, join(dir, 'cache-st'), sink), {
        code: 'SHALE_SDIST_NATIVE',
        message: /stnative==1\.0 .*native code: building it here made stnative-1\.0-cp311-cp311-linux_\w+\.whl/,
      }),
    );
  });
});
