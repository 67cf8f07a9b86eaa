import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import { layerGzip } from '../../../src/layer/blob.js';
import { BLOCK_SIZE } from '../../../src/layer/parallel-gzip.js';

/** 3.5 blocks of half-compressible bytes: text lines with a counter, and pseudo-random runs. */
function sampleInput(): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  let size = 0;
  while (size < BLOCK_SIZE * 3.5) {
    const text = Buffer.from(`line ${n} of a python module: def f_${n % 97}(x): return x * ${n}\n`);
    const noise = createHash('sha256').update(String(n)).digest();
    parts.push(text, noise);
    size += text.length + noise.length;
    n++;
  }
  return Buffer.concat(parts);
}

/** Feeds `input` in chunks of `chunk` bytes through `gz` and returns what it writes. */
async function compress(input: Buffer, chunk: number, gz = layerGzip()): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
  }
  await pipeline(Readable.from(chunks()), gz, new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

test('parallel gzip: any gzip reader gets the input back, across block boundaries', async () => {
  const input = sampleInput();
  const gz = await compress(input, 64 * 1024);
  assert.ok(gunzipSync(gz).equals(input));
  // Within a few percent of one zlib stream at the same level.
  const single = await compress(input, 64 * 1024, createGzip({ level: 4 }));
  assert.ok(gz.length < single.length * 1.03, `${gz.length} vs ${single.length}`);
});

test('parallel gzip: the bytes depend on the input only, not on how it arrives', async () => {
  const input = sampleInput();
  const a = await compress(input, 1 << 20);
  const b = await compress(input, 4093);
  const c = await compress(input, 3 * (1 << 20));
  assert.ok(a.equals(b));
  assert.ok(a.equals(c));
  // Golden: a change here changes layer digests; bump LAYER_FORMAT_VERSION with it.
  assert.equal(createHash('sha256').update(a).digest('hex'), GOLDEN);
});

test('parallel gzip: empty input and input of exactly one block', async () => {
  assert.equal(gunzipSync(await compress(Buffer.alloc(0), 1)).length, 0);
  const one = Buffer.alloc(BLOCK_SIZE, 'a');
  assert.ok(gunzipSync(await compress(one, 100_000)).equals(one));
});

test('parallel gzip: a failing input fails the stream', async () => {
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(BLOCK_SIZE * 2, 'x');
    throw new Error('disk went away');
  }
  await assert.rejects(pipeline(Readable.from(failing()), layerGzip(), new Writable({ write: (_c, _e, cb) => cb() })), /disk went away/);
});

const GOLDEN = '0c21b873adcb37115589ebe6d15b3d0b961429608090b8bf6a9683a272bdd918';
