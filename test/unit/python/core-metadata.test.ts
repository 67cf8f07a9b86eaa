import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCoreMetadata } from '../../../src/python/core-metadata.js';

const bad = (text: string, why: RegExp): void => {
  assert.throws(
    () => parseCoreMetadata(text, 'demo-1.0-py3-none-any.whl (demo-1.0.dist-info/METADATA)'),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_BAD_METADATA');
      assert.match(e.message, /demo-1\.0-py3-none-any\.whl \(demo-1\.0\.dist-info\/METADATA\)/);
      assert.match(e.message, why);
      return true;
    },
  );
};

describe('parseCoreMetadata', () => {
  it('reads name, version, Requires-Dist, Requires-Python and Provides-Extra; the body is ignored', () => {
    const text = [
      'Metadata-Version: 2.4',
      'Name: Demo_Pkg',
      'Version: 1.2.3',
      'Summary: a demo',
      'Requires-Python: >=3.8',
      'Requires-Dist: six>=1.0',
      'Requires-Dist: idna; extra == "net"',
      'requires-dist: colorama ; sys_platform == "win32"',
      'Provides-Extra: net',
      'License-Expression: MIT',
      '',
      'Requires-Dist: not-a-header-this-is-the-description',
      'Name: nope',
    ].join('\n');
    assert.deepEqual(parseCoreMetadata(text, 'x'), {
      name: 'Demo_Pkg',
      version: '1.2.3',
      requiresDist: ['six>=1.0', 'idna; extra == "net"', 'colorama ; sys_platform == "win32"'],
      requiresPython: '>=3.8',
      providesExtra: ['net'],
    });
  });

  it('continuation lines, CRLF, a BOM, and metadata 1.0 with no Requires-Dist', () => {
    const text =
      '\uFEFFMetadata-Version: 1.0\r\nName: old\r\nVersion: 0.1\r\nDescription: line one\r\n        |line two\r\n\tline three\r\nRequires-Dist: a,\r\n  b\r\n';
    const md = parseCoreMetadata(text, 'x');
    assert.equal(md.name, 'old');
    assert.equal(md.version, '0.1');
    assert.deepEqual(md.requiresDist, ['a, b']);
    assert.deepEqual(md.providesExtra, []);
    assert.equal(md.requiresPython, undefined);
    assert.equal(parseCoreMetadata('Name: a\nVersion: 1\nRequires-Python:\n', 'x').requiresPython, undefined);
  });

  it('stops at a line that is not a field, as Python’s email parser does', () => {
    const md = parseCoreMetadata('Metadata-Version: 2.1\nName: a\nVersion: 1\nthis line has no colon\nRequires-Dist: lost\n', 'x');
    assert.deepEqual(md.requiresDist, []);
  });

  it('refuses malformed metadata, naming where it came from', () => {
    bad('', /no header fields/);
    bad('Metadata-Version: 2.1\nVersion: 1\n', /no Name/);
    bad('Metadata-Version: 2.1\nName: a\n', /no Version/);
    bad('Metadata-Version: 3.0\nName: a\nVersion: 1\n', /Metadata-Version 3\.0/);
    bad('Metadata-Version: two\nName: a\nVersion: 1\n', /not a version/);
    bad('Name: a\nName: b\nVersion: 1\n', /Name more than once/);
    bad('  indented: x\nName: a\nVersion: 1\n', /indented line/);
  });
});
