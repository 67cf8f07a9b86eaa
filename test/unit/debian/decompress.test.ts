// xz as Debian's indexes and .debs use it, made by the machine's xz: decompressed whole, written
// into one buffer when the size is known (a Release lists the plain index's size), and still
// whole when that size is wrong.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decompress } from '../../../src/debian/decompress.js';

test('xz: the same bytes with no size, the exact size, or a wrong one', async () => {
  // Several MB, so the decoder hands them out in many chunks.
  const plain = Buffer.from(Array.from({ length: 24 }, (_, i) => `Package: p${i}\n${randomBytes(50_000).toString('hex')}\n\n`).join(''));
  const xz = execFileSync('xz', ['-c', '-1'], { input: plain, maxBuffer: 64 << 20 });
  assert.ok((await decompress(xz, 'xz')).equals(plain));
  assert.ok((await decompress(xz, 'xz', plain.length)).equals(plain));
  assert.ok((await decompress(xz, 'xz', 1000)).equals(plain), 'a size too small: every byte still comes back');
  assert.ok((await decompress(xz, 'xz', plain.length * 2)).equals(plain), 'a size too large: no trailing garbage');
  await assert.rejects(decompress(xz.subarray(0, xz.length - 20), 'xz'));
});
