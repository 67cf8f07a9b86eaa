import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { InputError } from '../../../src/errors.js';
import { resolveWheel } from '../../../src/python/finder.js';
import { Cache } from '../../../src/store/cache.js';
import { readLock } from '../../../src/python/lock.js';
import { formatPylock, targetMarker, writePylock, type PylockWriteOptions } from '../../../src/python/pylock-write.js';
import { readPylock } from '../../../src/python/pylock.js';
import type { LockedFile } from '../../../src/python/requirements.js';
import type { Resolution, ResolvedPackage } from '../../../src/python/resolution.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const arm64: TargetEnv = { ...amd64, platform: { os: 'linux', architecture: 'arm64' } };
const H = (c: string): string => c.repeat(64);
const X86 = 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64';
const ARM = 'cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64';

type Doc = Record<string, unknown>;
/** smol-toml's parse, as plain objects (it makes null-prototype tables, which deepEqual tells apart). */
const toml = (text: string): Doc => JSON.parse(JSON.stringify(parse(text))) as Doc;
const tables = (v: unknown): Doc[] => v as Doc[];

const pkg = (
  name: string,
  version: string,
  file: LockedFile,
  requiredBy: string[] = ['requirements.in'],
  more: Partial<ResolvedPackage> = {},
): ResolvedPackage => ({
  name,
  version,
  file,
  extras: [],
  requiredBy,
  ...more,
});
const remote = (filename: string, sha: string, size?: number, base = 'https://files.example/packages'): LockedFile => ({
  filename,
  url: `${base}/${filename}`,
  sha256: sha,
  ...(size === undefined ? {} : { size }),
});

async function localFile(path: string, filename: string): Promise<LockedFile> {
  const sha256 = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  return { filename, path, sha256, size: (await stat(path)).size };
}

/** Fisher–Yates with a fixed seed: a reproducible shuffle. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('formatPylock: two targets', () => {
  let dir = '';
  let lockDir = '';
  let cacheDir = '';
  let resolutions: Resolution[] = [];
  let opts: PylockWriteOptions;
  let text = '';
  let doc: Doc = {};

  before(async () => {
    dir = await tempDir('shale-pylock-write-');
    lockDir = join(dir, 'proj');
    cacheDir = join(dir, 'cache');
    const wheels = join(lockDir, 'wheels');
    await mkdir(wheels, { recursive: true });
    await mkdir(cacheDir);
    const files = [{ name: 'm/__init__.py', data: 'X = 1\n' }];
    const lw = makeWheel(wheels, { name: 'localwheel', version: '0.1', files });
    const lnX = makeWheel(wheels, { name: 'localnative', version: '1.0', tag: X86, files, rootIsPurelib: false });
    const lnA = makeWheel(wheels, { name: 'localnative', version: '1.0', tag: ARM, files, rootIsPurelib: false });
    const local = await localFile(lw.path, lw.filename);
    const pure = remote('purepkg-1.0-py3-none-any.whl', H('a'), 100);
    const index = 'https://alice:s3cret@pypi.example/simple/';
    const shared = [
      pkg('purepkg', '1.0', pure, ['requirements.in']),
      pkg('srconly', '3.0', remote('srconly-3.0.tar.gz', H('e'), 5000), ['purepkg']),
      pkg('localwheel', '0.1', local),
    ];
    resolutions = [
      {
        env: amd64,
        packages: [
          ...shared,
          pkg('native', '2.0', remote(`native-2.0-${X86}.whl`, H('b'), 200, 'https://tok:en@files.example/p'), ['requirements.in'], { index }),
          pkg('split', '1.2', remote('split-1.2-py3-none-any.whl', H('c'), 300), ['purepkg']),
          pkg('localnative', '1.0', await localFile(lnX.path, lnX.filename)),
        ].sort((a, b) => (a.name < b.name ? -1 : 1)),
      },
      {
        env: arm64,
        packages: [
          ...shared,
          pkg('native', '2.0', remote(`native-2.0-${ARM}.whl`, H('d'), 210, 'https://tok:en@files.example/p'), ['requirements.in'], { index }),
          pkg('armonly', '0.5', remote('armonly-0.5-py3-none-any.whl', H('f'), 50), ['native']),
          pkg('split', '1.1', remote('split-1.1-py3-none-any.whl', H('9'), 290), ['purepkg']),
          pkg('localnative', '1.0', await localFile(lnA.path, lnA.filename)),
        ].sort((a, b) => (a.name < b.name ? -1 : 1)),
      },
    ];
    opts = { lockDir, requiresPython: '==3.11.*', createdBy: 'shale', inputs: { 'requirements.in': H('1'), platforms: 'linux/amd64,linux/arm64' } };
    text = formatPylock(resolutions, opts);
    doc = toml(text);
  });
  after(async () => cleanup(dir));

  const entries = (name: string): Doc[] => tables(doc['packages']).filter((p) => p['name'] === name);
  const entry = (name: string): Doc => {
    const [e, ...more] = entries(name);
    assert.ok(e, `no entry for ${name}`);
    assert.equal(more.length, 0, `one entry for ${name}`);
    return e;
  };

  it('writes the PEP 751 top-level keys', () => {
    assert.equal(doc['lock-version'], '1.0');
    assert.deepEqual(doc['environments'], [
      "python_version == '3.11' and sys_platform == 'linux' and platform_machine == 'aarch64'",
      "python_version == '3.11' and sys_platform == 'linux' and platform_machine == 'x86_64'",
    ]);
    assert.equal(doc['requires-python'], '==3.11.*');
    assert.deepEqual(doc['extras'], []);
    assert.deepEqual(doc['dependency-groups'], []);
    assert.deepEqual(doc['default-groups'], []);
    assert.equal(doc['created-by'], 'shale');
    assert.deepEqual(doc['tool'], { shale: { inputs: { platforms: 'linux/amd64,linux/arm64', 'requirements.in': H('1') } } });
  });

  it('sorts packages by name, then PEP 440 version', () => {
    const order = tables(doc['packages']).map((p) => `${String(p['name'])}==${String(p['version'])}`);
    assert.deepEqual(order, ['armonly==0.5', 'localnative==1.0', 'localwheel==0.1', 'native==2.0', 'purepkg==1.0', 'split==1.1', 'split==1.2', 'srconly==3.0']);
  });

  it('a pure package both targets share: no marker, one wheel', () => {
    const e = entry('purepkg');
    assert.equal(e['marker'], undefined);
    assert.deepEqual(e['wheels'], [
      { name: 'purepkg-1.0-py3-none-any.whl', url: 'https://files.example/packages/purepkg-1.0-py3-none-any.whl', size: 100, hashes: { sha256: H('a') } },
    ]);
    assert.equal(e['sdist'], undefined);
  });

  it('a native package: no marker, one wheel per arch, sorted by name; index and URLs without credentials', () => {
    const e = entry('native');
    assert.equal(e['marker'], undefined);
    assert.equal(e['index'], 'https://pypi.example/simple/');
    assert.deepEqual(
      tables(e['wheels']).map((w) => [w['name'], w['url']]),
      [
        [`native-2.0-${ARM}.whl`, `https://files.example/p/native-2.0-${ARM}.whl`],
        [`native-2.0-${X86}.whl`, `https://files.example/p/native-2.0-${X86}.whl`],
      ],
    );
    assert.doesNotMatch(text, /s3cret|alice|tok:en|tok@/);
  });

  it('a package only arm64 has carries its marker', () => {
    assert.equal(entry('armonly')['marker'], "platform_machine == 'aarch64'");
  });

  it('a package whose version differs per arch: one entry per version, each with its marker', () => {
    const [v11, v12] = entries('split');
    assert.equal(v11?.['version'], '1.1');
    assert.equal(v11?.['marker'], "platform_machine == 'aarch64'");
    assert.equal(v12?.['version'], '1.2');
    assert.equal(v12?.['marker'], "platform_machine == 'x86_64'");
  });

  it('an sdist-only package gets packages.sdist and no wheels', () => {
    const e = entry('srconly');
    assert.equal(e['wheels'], undefined);
    assert.deepEqual(e['sdist'], {
      name: 'srconly-3.0.tar.gz',
      url: 'https://files.example/packages/srconly-3.0.tar.gz',
      size: 5000,
      hashes: { sha256: H('e') },
    });
  });

  it('a local wheel is written relative to the lock directory', () => {
    const [w] = tables(entry('localwheel')['wheels']);
    assert.equal(w?.['path'], 'wheels/localwheel-0.1-py3-none-any.whl');
    assert.equal(w?.['url'], undefined);
    assert.deepEqual(
      tables(entry('localnative')['wheels']).map((x) => x['path']),
      [`wheels/localnative-1.0-${ARM}.whl`, `wheels/localnative-1.0-${X86}.whl`],
    );
  });

  it('requiredBy becomes packages.dependencies (with the version only where a name has several entries)', () => {
    assert.deepEqual(entry('purepkg')['dependencies'], [{ name: 'split', version: '1.1' }, { name: 'split', version: '1.2' }, { name: 'srconly' }]);
    assert.deepEqual(entry('native')['dependencies'], [{ name: 'armonly' }]);
    // The input file that asked for a package is no package entry: it is not a dependency of anything.
    assert.equal(entry('srconly')['dependencies'], undefined);
    assert.doesNotMatch(text, /required/i);
  });

  it('reads back through readPylock/readLock: each target selects exactly its resolution', async () => {
    const file = join(lockDir, 'pylock.toml');
    await writePylock(file, text);
    assert.equal(await readFile(file, 'utf8'), text);
    const py = await readPylock(file);
    assert.equal(py.packages.length, 8);
    const lock = await readLock(file);
    for (const r of resolutions) {
      const got = lock
        .select(r.env)
        .map((p) => `${p.name}==${p.version}`)
        .sort();
      const want = r.packages.map((p) => `${p.name}==${p.version}`).sort();
      assert.deepEqual(got, want, `packages for ${r.env.platform.architecture}`);
    }
  });

  it('resolveWheel picks, per target, the wheel the resolution chose (no index, no find-links)', async () => {
    const file = join(lockDir, 'pylock.toml');
    await writePylock(file, text);
    const lock = await readLock(file);
    const sources = { findLinks: [], noIndex: true, projectDir: lockDir };
    let checked = 0;
    for (const r of resolutions) {
      const selected = lock.select(r.env);
      for (const want of r.packages) {
        if (!want.file.filename.endsWith('.whl')) continue; // an sdist would be built, not chosen
        const locked = selected.find((p) => p.name === want.name);
        assert.ok(locked, `${want.name} selected`);
        const choice = await resolveWheel(locked, r.env, sources, Cache.open(cacheDir));
        assert.equal(choice.filename, want.file.filename, `${want.name} on ${r.env.platform.architecture}`);
        assert.equal(choice.sha256, want.file.sha256);
        checked++;
      }
    }
    assert.equal(checked, 11);
  });

  it('same input twice, or shuffled, gives identical bytes', () => {
    assert.equal(formatPylock(resolutions, opts), text);
    for (const seed of [1, 7, 42]) {
      const mixed = shuffled(resolutions, seed).map((r) => ({ env: r.env, packages: shuffled(r.packages, seed + 1) }));
      const inputs = Object.fromEntries(shuffled(Object.entries(opts.inputs ?? {}), seed));
      assert.equal(formatPylock(mixed, { ...opts, inputs }), text);
    }
  });

  it('is laid out uv-style: inline tables, one wheel per line', () => {
    assert.match(text, /^lock-version = "1\.0"\nenvironments = \[\n {4}"python_version/);
    assert.match(
      text,
      /\n\[\[packages\]\]\nname = "native"\nversion = "2\.0"\ndependencies = \[\n {4}\{ name = "armonly" \},\n\]\nindex = "https:\/\/pypi\.example\/simple\/"\nwheels = \[\n {4}\{ name = "native-2\.0-cp311/,
    );
    assert.match(text, /\nsdist = \{ name = "srconly-3\.0\.tar\.gz", url = "[^"]+", size = 5000, hashes = \{ sha256 = "e{64}" \} \}\n/);
    assert.match(text, /\n\[tool\.shale\.inputs\]\nplatforms = "linux\/amd64,linux\/arm64"\n"requirements\.in" = "1{64}"\n$/);
  });

  it("is valid for packaging's PEP 751 reader (what pip uses), when the host python has it", (t) => {
    const probe = spawnSync('python3', ['-c', 'import packaging.pylock'], { stdio: 'ignore' });
    if (probe.status !== 0) {
      t.skip('python3 has no packaging.pylock');
      return;
    }
    const py = [
      'import sys, tomllib',
      'from packaging.pylock import Pylock',
      'lock = Pylock.from_dict(tomllib.loads(sys.stdin.read()))',
      'print(len(lock.packages))',
    ].join('\n');
    assert.equal(execFileSync('python3', ['-c', py], { input: text, encoding: 'utf8' }).trim(), '8');
  });
});

describe('formatPylock: strings and edge cases', () => {
  const base = { lockDir: '/tmp/lock', createdBy: 'shale' };

  it('escapes quotes, backslashes, control characters and keeps non-ASCII, read back exactly', () => {
    const nasty = 'q"uo\'te \\back\\slash \t tab \n nl \r cr \u0000 nul \u001f us \u007f del ü é 中文 😀';
    const url = `https://files.example/${nasty}/odd-1.0-py3-none-any.whl`;
    const text = formatPylock(
      [
        {
          env: amd64,
          packages: [pkg('odd', '1.0', { filename: 'odd-1.0-py3-none-any.whl', url, sha256: H('a') }, [], { index: `https://u:p@idx.example/${nasty}/` })],
        },
      ],
      { ...base, createdBy: `shale ${nasty}`, requiresPython: '>=3.11,<4 "x"', inputs: { [nasty]: nasty, 'a b/c.in': 'v' } },
    );
    const doc = toml(text);
    const [p] = tables(doc['packages']);
    assert.equal(tables(p?.['wheels'])[0]?.['url'], url);
    assert.equal(p?.['index'], `https://idx.example/${nasty}/`);
    assert.equal(doc['created-by'], `shale ${nasty}`);
    assert.equal(doc['requires-python'], '>=3.11,<4 "x"');
    assert.deepEqual(doc['tool'], { shale: { inputs: { [nasty]: nasty, 'a b/c.in': 'v' } } });
    // Raw control characters never reach the file; non-ASCII does, as UTF-8.
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.match(text, /ü é 中文 😀/);
  });

  it('drops credentials however the URL spells them, and leaves other URLs alone', () => {
    const urls = [
      'https://user:pa@ss@h.example/x/a-1-py3-none-any.whl',
      'http://token@h.example:8080/a-1-py3-none-any.whl?x=@y#@z',
      'https://h.example/p@th/a-1-py3-none-any.whl',
    ];
    const want = [
      'https://h.example/x/a-1-py3-none-any.whl',
      'http://h.example:8080/a-1-py3-none-any.whl?x=@y#@z',
      'https://h.example/p@th/a-1-py3-none-any.whl',
    ];
    urls.forEach((url, i) => {
      const doc = toml(formatPylock([{ env: amd64, packages: [pkg('a', '1', { filename: 'a-1-py3-none-any.whl', url, sha256: H('a') })] }], base));
      assert.equal(tables(tables(doc['packages'])[0]?.['wheels'])[0]?.['url'], want[i]);
    });
  });

  it('one target: no markers at all, and no tool table without inputs', () => {
    const text = formatPylock([{ env: amd64, packages: [pkg('a', '1', remote('a-1-py3-none-any.whl', H('a')))] }], base);
    const doc = toml(text);
    assert.equal(tables(doc['packages'])[0]?.['marker'], undefined);
    assert.equal(doc['tool'], undefined);
    assert.equal(doc['requires-python'], undefined);
    assert.doesNotMatch(text, /size =/);
  });

  it('no packages: `packages = []` (the key is required)', () => {
    const doc = toml(formatPylock([{ env: amd64, packages: [] }], base));
    assert.deepEqual(doc['packages'], []);
  });

  it('a package some targets lack, when markers cannot tell those targets apart, is an error', () => {
    const musl: TargetEnv = { ...amd64, libc: { kind: 'musl', version: [1, 2] } };
    const a = pkg('a', '1', remote('a-1-py3-none-any.whl', H('a')));
    const b = pkg('b', '1', remote('b-1-py3-none-any.whl', H('b')));
    assert.throws(
      () =>
        formatPylock(
          [
            { env: amd64, packages: [a] },
            { env: musl, packages: [a, b] },
          ],
          base,
        ),
      (e: unknown) => e instanceof InputError && e.code === 'SHALE_LOCK_TARGETS',
    );
    // Three targets: arm64 is told apart, but the x86_64 glibc/musl pair is not.
    assert.throws(
      () =>
        formatPylock(
          [
            { env: amd64, packages: [a] },
            { env: musl, packages: [a, b] },
            { env: arm64, packages: [a, b] },
          ],
          base,
        ),
      (e: unknown) => e instanceof InputError && e.code === 'SHALE_LOCK_TARGETS',
    );
    // Same packages for glibc and musl: one entry, both wheels, no marker.
    const n1 = pkg('n', '1', remote('n-1-cp311-cp311-manylinux_2_17_x86_64.whl', H('c')));
    const n2 = pkg('n', '1', remote('n-1-cp311-cp311-musllinux_1_1_x86_64.whl', H('d')));
    const doc = toml(
      formatPylock(
        [
          { env: amd64, packages: [n1] },
          { env: musl, packages: [n2] },
        ],
        base,
      ),
    );
    const [n] = tables(doc['packages']);
    assert.equal(n?.['marker'], undefined);
    assert.equal(tables(n?.['wheels']).length, 2);
    assert.equal((doc['environments'] as string[]).length, 1);
  });

  it('markers or the targets of several Python versions and machines together', () => {
    const py312: TargetEnv = { ...amd64, python: '3.12' };
    const a = pkg('a', '1', remote('a-1-py3-none-any.whl', H('a')));
    const doc = toml(
      formatPylock(
        [
          { env: amd64, packages: [a] },
          { env: arm64, packages: [] },
          { env: py312, packages: [a] },
        ],
        base,
      ),
    );
    assert.equal(
      tables(doc['packages'])[0]?.['marker'],
      "(python_version == '3.11' and platform_machine == 'x86_64') or (python_version == '3.12' and platform_machine == 'x86_64')",
    );
  });

  it('a file without a sha256 cannot be written (PEP 751 requires hashes)', () => {
    assert.throws(
      () => formatPylock([{ env: amd64, packages: [pkg('a', '1', { filename: 'a-1-py3-none-any.whl', url: 'https://h/a-1-py3-none-any.whl' })] }], base),
      /no sha256/,
    );
  });
});

describe('targetMarker', () => {
  it('is undefined for one target, and names only what differs', () => {
    assert.equal(targetMarker(amd64, [amd64]), undefined);
    assert.equal(targetMarker(amd64, [amd64, arm64]), "platform_machine == 'x86_64'");
    assert.equal(targetMarker(arm64, [amd64, arm64]), "platform_machine == 'aarch64'");
    const py312: TargetEnv = { ...arm64, python: '3.12' };
    assert.equal(targetMarker(py312, [amd64, py312]), "python_version == '3.12' and platform_machine == 'aarch64'");
    assert.equal(targetMarker(amd64, [amd64, { ...amd64, python: '3.12' }]), "python_version == '3.11'");
  });
});
