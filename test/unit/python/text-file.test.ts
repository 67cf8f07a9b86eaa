import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTomlLock } from '../../../src/python/lock-toml.js';
import { decodeText, readTextFile } from '../../../src/python/text-file.js';
import { cleanup, tempDir } from './helpers.js';

const TEXT = 'flask==3.0.3 \\\n    --hash=sha256:abc\ncafé==1.0 ; python_version < "3.12"\n';
const BOM8 = Buffer.from([0xef, 0xbb, 0xbf]);
const utf16be = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();

let dir = '';
before(async () => {
  dir = await tempDir('shale-text-');
});
after(async () => cleanup(dir));

describe('decodeText', () => {
  it('reads UTF-8 as is', () => {
    assert.equal(decodeText(Buffer.from(TEXT, 'utf8'), 'r.txt'), TEXT);
  });
  it('strips a UTF-8 BOM', () => {
    assert.equal(decodeText(Buffer.concat([BOM8, Buffer.from(TEXT)]), 'r.txt'), TEXT);
  });
  it('reads UTF-16 LE with a BOM (PowerShell `pip freeze > requirements.txt`)', () => {
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]), 'r.txt'), TEXT);
  });
  it('reads UTF-16 BE with a BOM', () => {
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(TEXT)]), 'r.txt'), TEXT);
  });
  it('recognizes BOM-less UTF-16 LE and BE by the NUL bytes of ASCII text', () => {
    assert.equal(decodeText(Buffer.from(TEXT, 'utf16le'), 'r.txt'), TEXT);
    assert.equal(decodeText(utf16be(TEXT), 'r.txt'), TEXT);
  });
  it('keeps CRLF line endings as they are', () => {
    const crlf = 'a==1\r\nb==2\r\n';
    assert.equal(decodeText(Buffer.from(crlf), 'r.txt'), crlf);
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(crlf, 'utf16le')]), 'r.txt'), crlf);
  });
  it('refuses invalid UTF-8, naming the file, line and byte offset and saying to save it as UTF-8', () => {
    const latin1 = Buffer.from('flask==3.0\ncaf\xe9==1.0\n', 'latin1');
    assert.throws(() => decodeText(latin1, '/app/requirements.txt'), {
      name: 'InputError',
      code: 'SHALE_TEXT_ENCODING',
      message: /^\/app\/requirements\.txt:2: byte offset 14 \(0xe9\) is not valid UTF-8.*save it as UTF-8/,
    });
    // Overlong forms and surrogates are not UTF-8 either.
    assert.throws(() => decodeText(Buffer.from([0x61, 0xc0, 0xaf]), 'x'), { code: 'SHALE_TEXT_ENCODING', message: /byte offset 1 / });
    assert.throws(() => decodeText(Buffer.from([0x61, 0x62, 0xed, 0xa0, 0x80]), 'x'), { code: 'SHALE_TEXT_ENCODING', message: /byte offset 2 / });
    assert.throws(() => decodeText(Buffer.from([0x61, 0xe2, 0x82]), 'x'), { code: 'SHALE_TEXT_ENCODING', message: /byte offset 1 / }, 'cut short');
  });
  it('refuses UTF-16 with an odd number of bytes', () => {
    assert.throws(() => decodeText(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62]), 'x.txt'), {
      code: 'SHALE_TEXT_ENCODING',
      message: /x\.txt looks like UTF-16.*odd number of bytes/,
    });
  });
  it('reads empty and one-byte files as UTF-8', () => {
    assert.equal(decodeText(Buffer.alloc(0), 'x'), '');
    assert.equal(decodeText(Buffer.from('a'), 'x'), 'a');
  });
});

describe('readTextFile', () => {
  it('reads and decodes a file; read errors propagate unchanged', async () => {
    const f = join(dir, 'requirements.txt');
    await writeFile(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]));
    assert.equal(await readTextFile(f), TEXT);
    await assert.rejects(readTextFile(join(dir, 'missing.txt')), { code: 'ENOENT' });
  });
  it('readTomlLock reads UTF-16 and BOM locks; a bad encoding keeps its own error', async () => {
    const toml = 'version = 1\r\n\r\n[[package]]\r\nname = "x"\r\n';
    const f = join(dir, 'uv.lock');
    await writeFile(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(toml, 'utf16le')]));
    const { doc, text } = await readTomlLock(f, 'regenerate it');
    assert.equal(doc['version'], 1);
    assert.equal(text, toml);
    await writeFile(f, Buffer.concat([BOM8, Buffer.from(toml)]));
    assert.equal((await readTomlLock(f, 'regenerate it')).doc['version'], 1);
    await writeFile(f, Buffer.from('name = "caf\xe9"\n', 'latin1'));
    await assert.rejects(readTomlLock(f, 'regenerate it'), { code: 'SHALE_TEXT_ENCODING' });
    await assert.rejects(readTomlLock(join(dir, 'nope.lock'), 'regenerate it'), {
      code: 'SHALE_LOCK_MISSING',
      message: /cannot read lock file .*nope\.lock: ENOENT/,
    });
  });
});
