import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { readZipIndex, type ZipMember } from '../../../src/python/zip.js';
import { readMemberStream } from '../../../src/python/zip-member.js';
import { cleanup, tempDir, writeZip, type Member } from './helpers.js';

/** Bytes that deflate poorly (so a member is large compressed too), deterministic. */
function noise(n: number, seed: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.length * 32 < n; i++) parts.push(createHash('sha256').update(`${seed}${i}`).digest());
  return Buffer.concat(parts).subarray(0, n);
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const MEMBERS: Member[] = [
  { name: 'pkg/small.py', data: 'print("hi")\n'.repeat(50) },
  { name: 'pkg/empty.py', data: '' },
  { name: 'pkg/big.so', data: noise(300 * 1024, 'big') },
  { name: 'pkg/text.txt', data: 'line of text\n'.repeat(40_000) },
  { name: 'pkg/stored-small.bin', data: noise(1000, 's'), stored: true },
  { name: 'pkg/stored-big.bin', data: noise(200 * 1024, 'sb'), stored: true },
];

async function withZip(fn: (path: string, members: Map<string, ZipMember>) => Promise<void>, members = MEMBERS): Promise<void> {
  const dir = await tempDir();
  try {
    const path = join(dir, 'x-1.0-py3-none-any.whl');
    writeZip(path, members);
    const index = await readZipIndex(path, 'x-1.0-py3-none-any.whl');
    await fn(path, new Map(index.map((m) => [m.name, m])));
  } finally {
    await cleanup(dir);
  }
}

test('zip members read back byte for byte: small and large, deflated and stored, empty', async () => {
  await withZip(async (path, index) => {
    for (const m of MEMBERS) {
      const got = await readAll(await readMemberStream(path, index.get(m.name)!.entry));
      assert.ok(got.equals(Buffer.from(m.data)), m.name);
    }
    // Read at once, interleaved.
    const all = await Promise.all(MEMBERS.map(async (m) => readAll(await readMemberStream(path, index.get(m.name)!.entry))));
    all.forEach((b, i) => assert.ok(b.equals(Buffer.from(MEMBERS[i]!.data))));
  });
});

test('a member whose local header is not where the directory says is a damaged wheel', async () => {
  await withZip(async (path, index) => {
    const m = index.get('pkg/big.so')!;
    const bytes = await readFile(path);
    bytes.writeUInt32LE(0, m.entry.relativeOffsetOfLocalHeader);
    await writeFile(path, bytes);
    await assert.rejects(
      readMemberStream(path, m.entry),
      (e: Error & { code?: string }) => e.code === 'SHALE_BAD_WHEEL' && /pkg\/big\.so has no local file header/.test(e.message),
    );
  });
});

test('deflated data that is damaged, or inflates to another size than the directory says, fails the stream', async () => {
  await withZip(async (path, index) => {
    // Damage the middle of the large deflated member's data.
    const big = index.get('pkg/text.txt')!;
    const bytes = await readFile(path);
    const start = big.entry.relativeOffsetOfLocalHeader + 30 + big.entry.fileNameLength;
    for (let i = start + 200; i < start + 264; i++) bytes[i] = bytes[i]! ^ 0x5a;
    await writeFile(path, bytes);
    await assert.rejects(
      async () => readAll(await readMemberStream(path, big.entry)),
      (e: Error & { code?: string }) => e.code === 'SHALE_BAD_WHEEL' && /pkg\/text\.txt/.test(e.message),
    );
  });
  await withZip(async (path, index) => {
    // The directory says fewer bytes than the data holds: refused, not inflated past it.
    for (const name of ['pkg/small.py', 'pkg/text.txt']) {
      const entry = { ...index.get(name)!.entry, uncompressedSize: 100 } as ZipMember['entry'];
      Object.setPrototypeOf(entry, Object.getPrototypeOf(index.get(name)!.entry));
      await assert.rejects(
        async () => readAll(await readMemberStream(path, entry)),
        (e: Error & { code?: string }) => e.code === 'SHALE_BAD_WHEEL' && e.message.includes(name),
        name,
      );
    }
  });
});

test('members of more zips than are kept open read correctly (older files are closed, then reopened)', async () => {
  const dir = await tempDir();
  try {
    const zips: { path: string; member: ZipMember; data: Buffer }[] = [];
    for (let i = 0; i < 24; i++) {
      const path = join(dir, `z${i}.whl`);
      const data = noise(100 * 1024, `z${i}`);
      writeZip(path, [{ name: 'a.bin', data }]);
      zips.push({ path, member: (await readZipIndex(path, `z${i}.whl`))[0]!, data });
    }
    // Open every stream first (their files stay open while read), then read them all.
    const streams = await Promise.all(zips.map((z) => readMemberStream(z.path, z.member.entry)));
    const got = await Promise.all(streams.map(readAll));
    got.forEach((b, i) => assert.ok(b.equals(zips[i]!.data)));
    for (const z of zips) assert.ok((await readAll(await readMemberStream(z.path, z.member.entry))).equals(z.data));
  } finally {
    await cleanup(dir);
  }
});

test('a file that is not a zip is a bad wheel, and its file is closed', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 'x-1.0-py3-none-any.whl');
    await writeFile(path, Buffer.alloc(5000, 'not a zip '));
    const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    for (let i = 0; i < 20; i++) {
      await assert.rejects(
        readZipIndex(path, 'x-1.0-py3-none-any.whl'),
        (e: Error & { code?: string }) => e.code === 'SHALE_BAD_WHEEL' && /cannot read wheel x-1\.0-py3-none-any\.whl/.test(e.message),
      );
    }
    await new Promise((r) => setImmediate(r));
    assert.ok((await fds()) <= before + 1, 'no descriptor left open per attempt');
  } finally {
    await cleanup(dir);
  }
});
