import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPureWheel, matchSdistFilename, normalizeName, normalizeVersion, parseWheelFilename } from '../../../src/python/names.js';

describe('normalizeName (PEP 503)', () => {
  for (const [raw, want] of [
    ['Flask', 'flask'],
    ['zope.interface', 'zope-interface'],
    ['Foo__Bar-.baz', 'foo-bar-baz'],
    ['typing_extensions', 'typing-extensions'],
  ] as const) {
    it(`${raw} → ${want}`, () => assert.equal(normalizeName(raw), want));
  }
});

describe('normalizeVersion (light PEP 440)', () => {
  for (const [a, b] of [
    ['1.0.0RC1', '1.0.0rc1'],
    ['1.0.0-rc.1', '1.0.0rc1'],
    ['1.0alpha2', '1.0a2'],
    ['2.0-1', '2.0.post1'],
    ['1.01', '1.1'],
    ['v1.2', '1.2'],
    ['0!1.0', '1.0'],
    ['1.0.dev', '1.0.dev0'],
    ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
  ] as const) {
    it(`${a} ≡ ${b}`, () => assert.equal(normalizeVersion(a), normalizeVersion(b)));
  }
  it('keeps release length (1.0 ≠ 1.0.0)', () => assert.notEqual(normalizeVersion('1.0'), normalizeVersion('1.0.0')));
});

describe('parseWheelFilename (PEP 427)', () => {
  it('parses a plain wheel', () => {
    const w = parseWheelFilename('six-1.16.0-py2.py3-none-any.whl');
    assert.ok(w);
    assert.equal(w.name, 'six');
    assert.equal(w.version, '1.16.0');
    assert.deepEqual(w.tags, ['py2-none-any', 'py3-none-any']);
    assert.ok(isPureWheel(w));
  });
  it('expands compressed tag sets', () => {
    const w = parseWheelFilename('PyYAML-6.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
    assert.deepEqual(w?.tags, ['cp311-cp311-manylinux_2_17_x86_64', 'cp311-cp311-manylinux2014_x86_64']);
    assert.equal(w && isPureWheel(w), false);
  });
  it('reads a build tag', () => {
    const w = parseWheelFilename('pkg-1.0-2b-py3-none-any.whl');
    assert.deepEqual(w?.build, { number: 2, tag: 'b' });
  });
  for (const bad of ['pkg-1.0.tar.gz', 'pkg-1.0-py3-none.whl', 'a-b-c-d-e-f-g.whl', 'pkg-1.0-x-py3-none-any.whl']) {
    it(`rejects ${bad}`, () => assert.equal(parseWheelFilename(bad), undefined));
  }
});

describe('matchSdistFilename', () => {
  it('splits names with dashes', () =>
    assert.deepEqual(matchSdistFilename('zope-interface-5.0.tar.gz', 'zope.interface'), { name: 'zope-interface', version: '5.0' }));
  it('ignores other projects', () => assert.equal(matchSdistFilename('flask-2.0.tar.gz', 'six'), undefined));
});
