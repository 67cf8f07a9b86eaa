import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseWheel, platformTags, supportedTags, type TargetEnv } from '../../../src/python/tags.js';

const glibc = (arch: string, minor = 36, python = '3.11', variant?: string): TargetEnv => ({
  python,
  platform: variant ? { os: 'linux', architecture: arch, variant } : { os: 'linux', architecture: arch },
  libc: { kind: 'glibc', version: [2, minor] },
});
const musl = (arch: string, minor = 2): TargetEnv => ({
  python: '3.12',
  platform: { os: 'linux', architecture: arch },
  libc: { kind: 'musl', version: [1, minor] },
});

describe('platformTags', () => {
  it('amd64 glibc 2.36: manylinux down to 2_5 with legacy aliases after their 2_N, then linux', () => {
    const t = platformTags(glibc('amd64'));
    assert.equal(t[0], 'manylinux_2_36_x86_64');
    const i17 = t.indexOf('manylinux_2_17_x86_64');
    assert.equal(t[i17 + 1], 'manylinux2014_x86_64');
    assert.equal(t[t.indexOf('manylinux_2_12_x86_64') + 1], 'manylinux2010_x86_64');
    assert.equal(t[t.indexOf('manylinux_2_5_x86_64') + 1], 'manylinux1_x86_64');
    assert.equal(t.at(-2), 'manylinux1_x86_64');
    assert.equal(t.at(-1), 'linux_x86_64');
    assert.equal(t.length, 32 + 3 + 1); // 2_36..2_5, three aliases, linux
  });
  it('arm64: aarch64, down to 2_17 only', () => {
    const t = platformTags(glibc('arm64', 31));
    assert.deepEqual(t.slice(-3), ['manylinux_2_17_aarch64', 'manylinux2014_aarch64', 'linux_aarch64']);
    assert.ok(!t.some((x) => x.includes('manylinux1') || x.includes('2010')));
  });
  it('arm/v7 → armv7l', () => assert.equal(platformTags(glibc('arm', 36, '3.11', 'v7')).at(-1), 'linux_armv7l'));
  it('musl: musllinux_1_N down to 0, then linux', () => {
    assert.deepEqual(platformTags(musl('amd64')), ['musllinux_1_2_x86_64', 'musllinux_1_1_x86_64', 'musllinux_1_0_x86_64', 'linux_x86_64']);
  });
  it('refuses an unknown architecture with a clear error', () => {
    assert.throws(() => platformTags(glibc('mips')), { code: 'SHALE_UNSUPPORTED_PLATFORM' });
  });
});

describe('supportedTags (packaging.tags order)', () => {
  const t = supportedTags(glibc('amd64', 17));
  const plats = platformTags(glibc('amd64', 17));
  const n = plats.length;
  it('cp311-cp311, then cp311-abi3, then cp311-none on every platform', () => {
    assert.equal(t[0], 'cp311-cp311-manylinux_2_17_x86_64');
    assert.equal(t[n], 'cp311-abi3-manylinux_2_17_x86_64');
    assert.equal(t[2 * n], 'cp311-none-manylinux_2_17_x86_64');
  });
  it('then older abi3 from cp310 down to cp32', () => {
    assert.equal(t[3 * n], 'cp310-abi3-manylinux_2_17_x86_64');
    assert.equal(t[3 * n + 9 * n - 1], 'cp32-abi3-linux_x86_64');
    assert.ok(!t.includes('cp31-abi3-linux_x86_64'));
  });
  it('then py311, py3, py310 ... py30 on platforms, then the any tags', () => {
    const start = 12 * n;
    assert.equal(t[start], 'py311-none-manylinux_2_17_x86_64');
    assert.equal(t[start + n], 'py3-none-manylinux_2_17_x86_64');
    assert.equal(t[start + 2 * n], 'py310-none-manylinux_2_17_x86_64');
    const tail = t.slice(t.indexOf('cp311-none-any'));
    assert.deepEqual(tail.slice(0, 4), ['cp311-none-any', 'py311-none-any', 'py3-none-any', 'py310-none-any']);
    assert.equal(tail.at(-1), 'py30-none-any');
  });
  it('Python 3.7 uses the cp37m ABI', () => assert.equal(supportedTags(glibc('amd64', 17, '3.7'))[0], 'cp37-cp37m-manylinux_2_17_x86_64'));
});

describe('chooseWheel', () => {
  const files = [
    'numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
    'numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl',
    'numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl',
    'numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
    'numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl',
    'numpy-1.26.4-cp311-cp311-win_amd64.whl',
    'numpy-1.26.4.tar.gz',
  ];
  const cases: Array<[string, TargetEnv, string[], string | undefined]> = [
    ['amd64 glibc', glibc('amd64'), files, files[0]],
    ['arm64 glibc', glibc('arm64'), files, files[1]],
    ['amd64 musl 3.11', { ...musl('amd64'), python: '3.11' }, files, files[2]],
    ['glibc too old for manylinux_2_17', glibc('amd64', 12), files, undefined],
    ['abi3 beats pure', glibc('amd64'), ['c-1-py3-none-any.whl', 'c-1-cp38-abi3-manylinux_2_28_x86_64.whl'], 'c-1-cp38-abi3-manylinux_2_28_x86_64.whl'],
    [
      'manylinux_2_28 beats manylinux2014',
      glibc('amd64'),
      ['c-1-cp311-cp311-manylinux2014_x86_64.whl', 'c-1-cp311-cp311-manylinux_2_28_x86_64.whl'],
      'c-1-cp311-cp311-manylinux_2_28_x86_64.whl',
    ],
    ['manylinux_2_28 refused on glibc 2.27', glibc('amd64', 27), ['c-1-cp311-cp311-manylinux_2_28_x86_64.whl'], undefined],
    ['pure fits everywhere', glibc('arm', 36, '3.11', 'v7'), ['six-1.16.0-py2.py3-none-any.whl'], 'six-1.16.0-py2.py3-none-any.whl'],
    ['higher build number wins a tie', glibc('amd64'), ['p-1-1-py3-none-any.whl', 'p-1-2-py3-none-any.whl'], 'p-1-2-py3-none-any.whl'],
    ['cp312 wheel on 3.11', glibc('amd64'), [files[3] ?? ''], undefined],
  ];
  for (const [name, env, fs, want] of cases) it(name, () => assert.equal(chooseWheel(fs, env), want));
});
