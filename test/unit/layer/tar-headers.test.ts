// The tar reader under layerEntries: ustar, GNU and pax headers read as tar-stream reads them,
// bodies read in part or not at all, truncated and non-tar input refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChunkReader, decodeHeader, tarEntries, type TarHeader } from '../../../src/layer/tar-headers.js';
import { tarBuffer } from '../../support/tar.js';

/** The input in chunks of `size` bytes (headers and bodies then cross chunk boundaries). */
function reader(buf: Buffer, size: number): ChunkReader {
  return new ChunkReader(
    (async function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
}

async function list(buf: Buffer, size: number, read: (h: TarHeader) => boolean | number = () => true): Promise<string[]> {
  const out: string[] = [];
  for await (const { header: h, body } of tarEntries(reader(buf, size))) {
    const want = read(h);
    let text = '';
    if (want !== false) {
      for await (const piece of body) {
        text += piece.toString('latin1');
        if (typeof want === 'number' && text.length >= want) break;
      }
    }
    out.push(
      `${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''} ${h.size} ${h.mode.toString(8)} ${h.uid}:${h.gid} ${typeof want === 'number' ? text.slice(0, want) : text.length}`,
    );
  }
  return out;
}

const LONG = `very/${'deep/'.repeat(40)}file.txt`;

describe('tar headers', () => {
  it('reads what tar-stream writes (pax for long names), whatever the chunk size, bodies read, skipped or cut short', async () => {
    const tar = await tarBuffer([
      { header: { name: 'a/', type: 'directory', mode: 0o755, uid: 1000, gid: 100 } },
      { header: { name: 'a/one.txt', mode: 0o644 }, data: 'x'.repeat(1000) },
      { header: { name: LONG, mode: 0o600 }, data: 'long' },
      { header: { name: 'a/link', type: 'symlink', linkname: `../${LONG}` } },
      { header: { name: 'a/hard', type: 'link', linkname: 'a/one.txt' } },
      { header: { name: 'a/last.txt' }, data: 'last' },
    ]);
    const expected = [
      'directory a/ 0 755 1000:100 0',
      'file a/one.txt 1000 644 0:0 1000',
      `file ${LONG} 4 600 0:0 4`,
      `symlink a/link -> ../${LONG} 0 644 0:0 0`,
      'link a/hard -> a/one.txt 0 644 0:0 0',
      'file a/last.txt 4 644 0:0 4',
    ];
    for (const size of [1, 7, 511, 512, 513, 4096, 1 << 20]) assert.deepEqual(await list(tar, size), expected, `chunks of ${size}`);
    // Unread bodies are skipped; a body read in part leaves the rest skipped too.
    const skipped = await list(tar, 300, (h) => (h.name === 'a/one.txt' ? 10 : h.name === 'a/last.txt'));
    assert.equal(skipped[1], 'file a/one.txt 1000 644 0:0 xxxxxxxxxx');
    assert.equal(skipped[5], 'file a/last.txt 4 644 0:0 4');
  });

  it("reads GNU tar's long names and link names, and POSIX ustar name prefixes", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'shale-tar-'));
    try {
      await mkdir(join(dir, 'root', LONG, '..'), { recursive: true });
      await writeFile(join(dir, 'root', LONG), 'long');
      await symlink(`/${LONG}`, join(dir, 'root', 'link'));
      const make = (format: string, what = '.'): Buffer | undefined => {
        try {
          return execFileSync('tar', ['-C', join(dir, 'root'), `--format=${format}`, '--sort=name', '--owner=0', '--group=0', '-cf', '-', what], {
            maxBuffer: 1 << 24,
            stdio: ['ignore', 'pipe', 'ignore'],
          });
        } catch {
          return undefined;
        }
      };
      const gnu = make('gnu');
      const ustar = make('ustar', './very');
      const posix = make('posix');
      if (!gnu || !ustar || !posix) return t.skip('GNU tar is not installed');
      for (const tar of [gnu, posix]) {
        const got = await list(tar, 1000);
        assert.ok(got.includes(`file ./${LONG} 4 644 0:0 4`) || got.some((l) => l.startsWith(`file ./${LONG} 4 `)), got.join('\n'));
        assert.ok(
          got.some((l) => l.startsWith(`symlink ./link -> /${LONG} 0 `)),
          got.join('\n'),
        );
      }
      // ustar cannot hold the link's target (over 100 bytes); the file is there by prefix + name.
      const got = await list(ustar, 1000);
      assert.ok(
        got.some((l) => l.startsWith(`file ./${LONG} 4 `)),
        got.join('\n'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads base-256 numbers (GNU, for sizes and ids past octal fields)', () => {
    const block = Buffer.alloc(512);
    block.write('big', 0);
    block.write('0000644\0', 100);
    block.write('0000000\0', 116);
    block[108] = 0x80; // uid in base-256: 2^21
    block.writeUIntBE(1 << 21, 108 + 8 - 3, 3);
    block.write('00000000004\0', 124);
    block.write('ustar  \0', 257);
    block[156] = 48;
    block.write('        ', 148);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    assert.deepEqual(decodeHeader(block), { name: 'big', type: 'file', mode: 0o644, uid: 1 << 21, gid: 0, size: 4 });
  });

  it('refuses a truncated tar and bytes that are not a tar', async () => {
    const tar = await tarBuffer([{ header: { name: 'a.txt' }, data: 'x'.repeat(5000) }]);
    await assert.rejects(list(tar.subarray(0, 2048), 512), { code: 'SHALE_LAYER_TRUNCATED' });
    await assert.rejects(
      list(tar.subarray(0, 2048), 512, () => false),
      { code: 'SHALE_LAYER_TRUNCATED' },
    );
    await assert.rejects(list(Buffer.alloc(1024, 'x'), 512), { code: 'SHALE_LAYER_BAD_TAR' });
    assert.deepEqual(await list(Buffer.alloc(1024), 512), []);
  });
});
