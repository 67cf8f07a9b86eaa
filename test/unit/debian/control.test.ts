// deb822 control data: the paragraphs of dpkg's status, Packages and Release files, and the
// relationship fields (Depends with alternatives, versions and architecture qualifiers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { field, formatStanza, parseStanzas } from '../../../src/debian/control.js';
import { parseRelations } from '../../../src/debian/relations.js';

const STATUS = `Package: libc6
Status: install ok installed
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries.
 .
 Second paragraph.

Package: curl
Version: 7.88.1-10
Conffiles:
 /etc/curlrc 0123456789abcdef0123456789abcdef
`;

describe('parseStanzas', () => {
  it('reads paragraphs, continuation lines and empty first lines', () => {
    const [libc, curl, ...rest] = parseStanzas(STATUS, 'status');
    assert.equal(rest.length, 0);
    assert.equal(field(libc!, 'package'), 'libc6', 'field names are case-insensitive');
    assert.equal(field(libc!, 'Description'), 'GNU C Library: Shared libraries\nContains the standard libraries.\n.\nSecond paragraph.');
    assert.equal(field(curl!, 'Conffiles'), '\n/etc/curlrc 0123456789abcdef0123456789abcdef');
  });
  it('writes a paragraph back the way it read it', () => {
    const [libc, curl] = parseStanzas(STATUS, 'status');
    assert.equal(formatStanza(libc!) + '\n' + formatStanza(curl!), STATUS);
  });
  it('names the file and line of a malformed line', () => {
    assert.throws(() => parseStanzas('Package: a\nnot a field\n', 'Packages'), /Packages, line 2: expected "Field: value"/);
    assert.throws(() => parseStanzas(' continuation\n', 'Packages'), /Packages, line 1: a continuation line/);
  });
  it('skips comment lines (deb822 .sources files have them)', () => {
    assert.equal(parseStanzas('# a comment\nTypes: deb\n', 'x').length, 1);
  });
});

describe('parseRelations', () => {
  it('reads alternatives, version constraints and architecture qualifiers', () => {
    assert.deepEqual(parseRelations('libc6 (>= 2.34), libssl3 | libssl1.1 (>> 1.1.0), python3:any (<< 3.12), perl:native', 'Depends'), [
      [{ name: 'libc6', constraint: { relation: '>=', version: '2.34' } }],
      [{ name: 'libssl3' }, { name: 'libssl1.1', constraint: { relation: '>>', version: '1.1.0' } }],
      [{ name: 'python3', arch: 'any', constraint: { relation: '<<', version: '3.12' } }],
      [{ name: 'perl', arch: 'native' }],
    ]);
  });
  it('reads the obsolete < and > as <= and >=', () => {
    assert.deepEqual(parseRelations('a (< 1), b (> 2)', 'x'), [
      [{ name: 'a', constraint: { relation: '<=', version: '1' } }],
      [{ name: 'b', constraint: { relation: '>=', version: '2' } }],
    ]);
  });
  it('refuses what it cannot read, naming the field', () => {
    assert.throws(() => parseRelations('a (~= 1)', "curl's Depends"), /curl's Depends: cannot read the dependency "a \(~= 1\)"/);
  });
});
