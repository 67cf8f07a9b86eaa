// Debian version comparison, checked against dpkg's own ordering rules (Policy 5.6.12) and the
// cases dpkg's test suite covers: epochs, "~" before everything, letters before other
// characters, numeric runs compared as numbers, a missing revision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, parseVersion, satisfies } from '../../../src/debian/version.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('compareVersions', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0', '1.0-0', 0],
    ['0:1.0', '1.0', 0],
    ['1:0.1', '2.0', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0+', -1],
    ['1.0-1', '1.0-2', -1],
    ['1.10', '1.9', 1],
    ['1.001', '1.1', 0],
    ['7.88.1-10+deb12u8', '7.88.1-10+deb12u15', -1],
    ['2.36-9+deb12u4', '2.36-9+deb12u10', -1],
    ['2.4+20151223.gitfa8646d.1-2+b2', '2.4+20151223.gitfa8646d.1-2', 1],
    ['1.2.3-1ubuntu1', '1.2.3-1', 1],
    ['1.0-1~bpo12+1', '1.0-1', -1],
  ];
  for (const [a, b, want] of cases) {
    it(`${a} ${want < 0 ? '<' : want > 0 ? '>' : '='} ${b}`, () => {
      assert.equal(sign(compareVersions(a, b)), want);
      assert.equal(sign(compareVersions(b, a)), sign(-want));
    });
  }
  it('sorts a list as dpkg does', () => {
    const sorted = ['1.0', '1.0~rc1', '1:0.5', '1.0-1', '0.9', '1.0+b1'].sort(compareVersions);
    assert.deepEqual(sorted, ['0.9', '1.0~rc1', '1.0', '1.0-1', '1.0+b1', '1:0.5']);
  });
  it('splits epoch, upstream and revision (the last "-" starts the revision)', () => {
    assert.deepEqual(parseVersion('2:1.2-3-4'), { epoch: 2, upstream: '1.2-3', revision: '4' });
    assert.throws(() => parseVersion('x:1.0'), /epoch is not a number/);
  });
});

describe('satisfies', () => {
  it('reads every relation', () => {
    assert.ok(satisfies('2.36-9', '>=', '2.34'));
    assert.ok(!satisfies('2.33', '>=', '2.34'));
    assert.ok(satisfies('1.0', '<<', '1.0.1'));
    assert.ok(!satisfies('1.0', '<<', '1.0'));
    assert.ok(satisfies('1.0', '<=', '1.0'));
    assert.ok(satisfies('1.0-1', '=', '1.0-1'));
    assert.ok(satisfies('1.1', '>>', '1.0'));
  });
});
