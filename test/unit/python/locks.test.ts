import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { resolveWheel } from '../../../src/python/finder.js';
import { Cache } from '../../../src/store/cache.js';
import { lockFormat, readLock } from '../../../src/python/lock.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const arm64: TargetEnv = { ...amd64, platform: { os: 'linux', architecture: 'arm64' } };
const py312: TargetEnv = { ...amd64, python: '3.12' };
const H = (c: string): string => c.repeat(64);
const names = (pkgs: { name: string; version: string }[]): string[] => pkgs.map((p) => `${p.name}==${p.version}`).sort();

let dir = '';
before(async () => {
  dir = await tempDir('shale-locks-');
});
after(async () => cleanup(dir));

async function write(name: string, text: string): Promise<string> {
  const sub = join(dir, String(Math.random()).slice(2));
  await mkdir(sub);
  const f = join(sub, name);
  await writeFile(f, text);
  return f;
}

describe('lockFormat', () => {
  it('picks the reader by file name', () => {
    assert.equal(lockFormat('/a/uv.lock'), 'uv');
    assert.equal(lockFormat('/a/pylock.toml'), 'pylock');
    assert.equal(lockFormat('/a/pylock.prod.toml'), 'pylock');
    assert.equal(lockFormat('/a/requirements-prod.txt'), 'requirements');
  });
});

const PYLOCK = `lock-version = "1.0"
created-by = "pip"
default-groups = ["main"]

[[packages]]
name = "Six"
version = "1.16.0"
[[packages.wheels]]
url = "https://files.example/six-1.16.0-py2.py3-none-any.whl"
size = 11053
hashes = { sha256 = "${H('a')}" }

[[packages]]
name = "pywin32"
version = "306"
marker = "sys_platform == 'win32'"
[[packages.wheels]]
url = "https://files.example/pywin32-306-cp311-cp311-win_amd64.whl"
hashes = { sha256 = "${H('b')}" }

[[packages]]
name = "numpy"
version = "2.0.0"
marker = "platform_machine == 'x86_64' and 'main' in dependency_groups"
[[packages.wheels]]
path = "wheels/numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl"
hashes = { sha256 = "${H('c')}" }

[[packages]]
name = "myapp"
directory = { path = "." }
`;

describe('pylock.toml (PEP 751)', () => {
  it('reads packages with their files; markers (with dependency_groups) are evaluated per target', async () => {
    const f = await write('pylock.toml', PYLOCK);
    const lock = await readLock(f);
    assert.equal(lock.format, 'pylock');
    assert.deepEqual(names(lock.packages), ['numpy==2.0.0', 'pywin32==306', 'six==1.16.0'], 'the directory package (the project) is not installed');
    assert.deepEqual(names(lock.select(amd64)), ['numpy==2.0.0', 'six==1.16.0']);
    assert.deepEqual(names(lock.select(arm64)), ['six==1.16.0']);
    const six = lock.packages.find((p) => p.name === 'six');
    assert.deepEqual(six?.files, [
      { filename: 'six-1.16.0-py2.py3-none-any.whl', url: 'https://files.example/six-1.16.0-py2.py3-none-any.whl', sha256: H('a'), size: 11053 },
    ]);
    assert.deepEqual(six?.hashes, [`sha256:${H('a')}`]);
    assert.equal(six?.source.line, 5);
    const numpy = lock.packages.find((p) => p.name === 'numpy');
    assert.equal(numpy?.files?.[0]?.path, join(f, '..', 'wheels', 'numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl'));
  });
  it('refuses unpinned, VCS and malformed entries, naming file, line and package and how to regenerate', async () => {
    const unpinned = await write('pylock.toml', 'lock-version = "1.0"\n\n[[packages]]\nname = "flask"\n');
    await assert.rejects(readLock(unpinned), { code: 'SHALE_UNPINNED', message: /pylock\.toml:3: package flask has no `version`.*pip lock/ });
    const vcs = await write('pylock.toml', 'lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\nvcs = { type = "git", url = "https://g/x" }\n');
    await assert.rejects(readLock(vcs), { code: 'SHALE_LOCK_UNSUPPORTED', message: /package x comes from a VCS checkout/ });
    const noHash = await write(
      'pylock.toml',
      'lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\nwheels = [{ url = "https://f/x-1-py3-none-any.whl" }]\n',
    );
    await assert.rejects(readLock(noHash), { code: 'SHALE_LOCK_SYNTAX', message: /package x\).*no `hashes`/ });
    const v2 = await write('pylock.toml', 'lock-version = "2.0"\n');
    await assert.rejects(readLock(v2), { code: 'SHALE_LOCK_SYNTAX', message: /lock-version.*version 1/ });
    const bad = await write('pylock.toml', 'lock-version = \n');
    await assert.rejects(readLock(bad), { code: 'SHALE_LOCK_SYNTAX', message: /pylock\.toml:1:\d+: invalid TOML.*pip lock/ });
  });
});

const UVLOCK = `version = 1
revision = 2
requires-python = ">=3.11"
resolution-markers = [
    "python_full_version >= '3.12'",
    "python_full_version < '3.12'",
]

[[package]]
name = "myapp"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "fastapi" },
    { name = "numpy", version = "1.26.4", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.12'" },
    { name = "numpy", version = "2.0.0", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version >= '3.12'" },
    { name = "ledger-core", editable = "libs/ledger_core" },
]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "fastapi"
version = "0.110.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "starlette" },
    { name = "uvloop", marker = "sys_platform != 'win32' and platform_machine == 'x86_64'" },
    { name = "colorama", marker = "sys_platform == 'win32'" },
]
wheels = [
    { url = "https://files.example/fastapi-0.110.0-py3-none-any.whl", hash = "sha256:${H('1')}", size = 92000 },
]

[package.optional-dependencies]
all = [{ name = "httpx" }]

[[package]]
name = "starlette"
version = "0.36.3"
source = { registry = "../wheels" }
dependencies = [{ name = "anyio", extra = ["trio"] }]
wheels = [{ path = "starlette-0.36.3-py3-none-any.whl", hash = "sha256:${H('2')}" }]

[[package]]
name = "anyio"
version = "4.3.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/anyio-4.3.0-py3-none-any.whl", hash = "sha256:${H('3')}" }]

[package.optional-dependencies]
trio = [{ name = "trio" }]

[[package]]
name = "trio"
version = "0.25.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/trio-0.25.0-py3-none-any.whl", hash = "sha256:${H('4')}" }]

[[package]]
name = "uvloop"
version = "0.19.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/uvloop-0.19.0-cp311-cp311-manylinux_2_17_x86_64.whl", hash = "sha256:${H('5')}" }]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.12'"]

[[package]]
name = "numpy"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.12'"]

[[package]]
name = "ledger-core"
version = "0.1.0"
source = { editable = "libs/ledger_core" }
dependencies = [{ name = "six" }]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }
`;

describe('uv.lock', () => {
  it('walks the graph from the project per target: edge markers, extras, forks, through local packages', async () => {
    const f = await write('uv.lock', UVLOCK);
    const lock = await readLock(f);
    assert.equal(lock.format, 'uv');
    assert.deepEqual(names(lock.select(amd64)), [
      'anyio==4.3.0',
      'fastapi==0.110.0',
      'numpy==1.26.4',
      'six==1.16.0',
      'starlette==0.36.3',
      'trio==0.25.0',
      'uvloop==0.19.0',
    ]);
    assert.deepEqual(
      names(lock.select(arm64)),
      ['anyio==4.3.0', 'fastapi==0.110.0', 'numpy==1.26.4', 'six==1.16.0', 'starlette==0.36.3', 'trio==0.25.0'],
      'uvloop only on x86_64',
    );
    assert.ok(names(lock.select(py312)).includes('numpy==2.0.0'));
    const all = names(lock.select(amd64));
    assert.ok(!all.some((n) => /^(colorama|httpx|pytest)==/.test(n)), 'not win32 deps, unrequested extras or dev groups');
  });
  it('lists the wheels the lock names: URLs with hash and size, paths relative to a local registry', async () => {
    const f = await write('uv.lock', UVLOCK);
    const pkgs = (await readLock(f)).select(amd64);
    const fastapi = pkgs.find((p) => p.name === 'fastapi');
    assert.deepEqual(fastapi?.files, [
      { filename: 'fastapi-0.110.0-py3-none-any.whl', url: 'https://files.example/fastapi-0.110.0-py3-none-any.whl', sha256: H('1'), size: 92000 },
    ]);
    assert.deepEqual(fastapi?.hashes, [`sha256:${H('1')}`]);
    const starlette = pkgs.find((p) => p.name === 'starlette');
    assert.equal(starlette?.files?.[0]?.path, join(f, '..', '..', 'wheels', 'starlette-0.36.3-py3-none-any.whl'));
    assert.match(`${fastapi?.source.file}:${fastapi?.source.line}`, /uv\.lock:23$/);
  });
  it('refuses unpinned and malformed locks with file, line, package and `uv lock`', async () => {
    const unpinned = await write(
      'uv.lock',
      'version = 1\n[[package]]\nname = "app"\nversion = "0"\nsource = { virtual = "." }\ndependencies = [{ name = "x" }]\n\n[[package]]\nname = "x"\nsource = { registry = "https://pypi.org/simple" }\n',
    );
    await assert.rejects(readLock(unpinned), { code: 'SHALE_UNPINNED', message: /uv\.lock:8: package x has no `version`.*uv lock/ });
    const noRoot = await write('uv.lock', 'version = 1\n[[package]]\nname = "x"\nversion = "1"\nsource = { registry = "https://pypi.org/simple" }\n');
    await assert.rejects(readLock(noRoot), { code: 'SHALE_LOCK_SYNTAX', message: /no package for the project itself.*uv lock/ });
    const missing = await write(
      'uv.lock',
      'version = 1\n[[package]]\nname = "app"\nversion = "0"\nsource = { virtual = "." }\ndependencies = [{ name = "gone" }]\n',
    );
    const lock = await readLock(missing);
    assert.throws(() => lock.select(amd64), { code: 'SHALE_LOCK_SYNTAX', message: /app depends on gone, which the lock has no entry for/ });
    const git = await write('uv.lock', 'version = 1\n[[package]]\nname = "x"\nversion = "1"\nsource = { git = "https://g/x?rev=1" }\n');
    await assert.rejects(readLock(git), { code: 'SHALE_LOCK_UNSUPPORTED', message: /from git/ });
    await assert.rejects(readLock(await write('uv.lock', 'version = 2\n')), { code: 'SHALE_LOCK_SYNTAX', message: /version 1/ });
  });
});

describe('resolveWheel with files from the lock', () => {
  it("uses the lock's URL, hash and size directly: no index, no download", async () => {
    const f = await write('uv.lock', UVLOCK);
    const fastapi = (await readLock(f)).select(amd64).find((p) => p.name === 'fastapi');
    assert.ok(fastapi);
    // The URL is unreachable: naming the wheel must not touch the network.
    const pkg = { ...fastapi, files: (fastapi.files ?? []).map((x) => ({ ...x, url: 'http://127.0.0.1:9/fastapi-0.110.0-py3-none-any.whl' })) };
    const w = await resolveWheel(pkg, amd64, { findLinks: [], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'cache')));
    assert.deepEqual(
      { filename: w.filename, sha256: w.sha256, size: w.size, pure: w.pure },
      { filename: 'fastapi-0.110.0-py3-none-any.whl', sha256: H('1'), size: 92000, pure: true },
    );
  });
  it('a local wheel path from the lock is hashed in place and checked against the lock', async () => {
    const wheels = join(dir, 'lw');
    await mkdir(wheels, { recursive: true });
    const wh = makeWheel(wheels, { name: 'tiny', version: '1.0', files: [{ name: 'tiny.py', data: 'X = 1\n' }] });
    const ok = { name: 'tiny', version: '1.0', hashes: [], source: { file: 'pylock.toml', line: 3 }, files: [{ filename: wh.filename, path: wh.path }] };
    const w = await resolveWheel(ok, amd64, { findLinks: [], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'cache')));
    assert.equal(w.filename, wh.filename);
    const wrong = { ...ok, hashes: [`sha256:${H('f')}`], files: [{ filename: wh.filename, path: wh.path, sha256: H('f') }] };
    await assert.rejects(resolveWheel(wrong, amd64, { findLinks: [], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'cache'))), {
      code: 'SHALE_HASH_MISMATCH',
    });
  });
});
