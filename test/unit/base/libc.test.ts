// The base's C library: its config form, what its files say, and the scan that reads it from
// a base's layers (top down, stopping as soon as it is certain).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { detectLibc, formatLibc, glibcOfDebian, isLibcPath, libcFromBytes, parseLibc } from '../../../src/base/libc.js';
import type { LayerBlob } from '../../../src/layer/read-entries.js';
import { tarBuffer } from '../../support/tar.js';

type TarItem = { name: string; data?: Buffer | string; linkname?: string };

/** A tar (not compressed) of the given files and symlinks. */
function tarOf(items: TarItem[]): Promise<Buffer> {
  return tarBuffer(
    items.map((it) =>
      it.linkname !== undefined ? { header: { name: it.name, type: 'symlink', linkname: it.linkname } } : { header: { name: it.name }, data: it.data ?? '' },
    ),
  );
}

/** A gzip layer whose opens are counted (to tell which layers were read). */
async function layer(items: TarItem[], opened: string[], label: string): Promise<LayerBlob & { mediaType: string; bytes: Buffer }> {
  const bytes = gzipSync(await tarOf(items));
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', bytes, open: async () => (opened.push(label), Readable.from([bytes])) };
}

const GLIBC_236 = Buffer.concat([
  Buffer.alloc(4096, 1),
  Buffer.from('GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.36\0GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n\0'),
]);

describe('libc config form', () => {
  it('parses and formats "glibc 2.36" and "musl 1.2"', () => {
    assert.deepEqual(parseLibc('glibc 2.36'), { kind: 'glibc', version: [2, 36] });
    assert.deepEqual(parseLibc('musl 1.2.4'), { kind: 'musl', version: [1, 2] });
    assert.equal(parseLibc('glibc'), undefined);
    assert.equal(parseLibc('bionic 1.0'), undefined);
    assert.equal(formatLibc({ kind: 'glibc', version: [2, 36] }), 'glibc 2.36');
  });
});

describe('isLibcPath / libcFromBytes', () => {
  it('knows glibc and musl files in lib directories only', () => {
    assert.equal(isLibcPath('usr/lib/x86_64-linux-gnu/libc.so.6'), 'glibc');
    assert.equal(isLibcPath('./lib64/ld-linux-x86-64.so.2'), 'glibc');
    assert.equal(isLibcPath('lib/ld-linux-aarch64.so.1'), 'glibc');
    assert.equal(isLibcPath('lib/ld-musl-x86_64.so.1'), 'musl');
    assert.equal(isLibcPath('usr/lib/python3/dist-packages/x.libs/libc.so.6'), undefined);
    assert.equal(isLibcPath('usr/share/libc.so.6'), undefined);
  });
  it('takes the release banner over version symbols', () => {
    assert.deepEqual(libcFromBytes('lib/libc.so.6', GLIBC_236), { libc: { kind: 'glibc', version: [2, 36] }, certain: true });
  });
  it('without a banner, the highest GLIBC_2.NN symbol is a lower bound', () => {
    assert.deepEqual(libcFromBytes('lib/libc.so.6', Buffer.from('GLIBC_2.17\0GLIBC_2.28\0GLIBC_2.3\0GLIBC_PRIVATE')), {
      libc: { kind: 'glibc', version: [2, 28] },
      certain: false,
    });
  });
  it('an old glibc names its version in the file name', () => {
    assert.deepEqual(libcFromBytes('lib/x86_64-linux-gnu/libc-2.28.so', Buffer.alloc(0))?.libc, { kind: 'glibc', version: [2, 28] });
  });
  it('musl: a NUL-framed version string, else 1.2', () => {
    assert.deepEqual(libcFromBytes('lib/ld-musl-x86_64.so.1', Buffer.from('x\x001.1.24\x00y'))?.libc, { kind: 'musl', version: [1, 1] });
    assert.deepEqual(libcFromBytes('lib/ld-musl-x86_64.so.1', Buffer.from('no version here'))?.libc, { kind: 'musl', version: [1, 2] });
  });
});

describe('detectLibc', () => {
  it('reads layers from the top down and stops at the first that has libc', async () => {
    const opened: string[] = [];
    const bottom = await layer([{ name: 'usr/lib/x86_64-linux-gnu/libc.so.6', data: 'GNU C Library stable release version 2.28.' }], opened, 'bottom');
    const top = await layer(
      [
        { name: 'etc/hostname', data: 'x' },
        { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', data: GLIBC_236 },
      ],
      opened,
      'top',
    );
    const app = await layer([{ name: 'app/main.py', data: 'print(1)' }], opened, 'app');
    assert.deepEqual(await detectLibc([bottom, top, app], 'test base'), { kind: 'glibc', version: [2, 36] });
    assert.deepEqual(opened, ['app', 'top'], 'the bottom layer was never read');
  });
  it('stops reading a layer as soon as libc is found', async () => {
    const opened: string[] = [];
    const big = randomBytes(4 << 20);
    const l = await layer(
      [
        { name: 'lib/x86_64-linux-gnu/libc.so.6', data: GLIBC_236 },
        { name: 'usr/share/big.bin', data: big },
      ],
      opened,
      'one',
    );
    let read = 0;
    const counted: LayerBlob = {
      mediaType: l.mediaType,
      open: async () => {
        // One byte at a time would be slow: 64 KiB chunks, counted.
        const chunks: Buffer[] = [];
        for (let i = 0; i < l.bytes.length; i += 65536) chunks.push(l.bytes.subarray(i, i + 65536));
        return Readable.from(
          (function* () {
            for (const c of chunks) {
              read += c.length;
              yield c;
            }
          })(),
        );
      },
    };
    assert.deepEqual(await detectLibc([counted], 'test base'), { kind: 'glibc', version: [2, 36] });
    assert.ok(read < l.bytes.length, `read ${read} of ${l.bytes.length} compressed bytes`);
  });
  it('follows a libc.so.6 → libc-2.NN.so link without reading the library', async () => {
    const l = await layer([{ name: 'lib/x86_64-linux-gnu/libc.so.6', linkname: 'libc-2.28.so' }], [], 'l');
    assert.deepEqual(await detectLibc([l], 'test base'), { kind: 'glibc', version: [2, 28] });
  });
  it('finds musl', async () => {
    const l = await layer(
      [
        { name: 'lib/ld-musl-aarch64.so.1', data: 'musl\x001.2.4\x00' },
        { name: 'lib/libc.musl-aarch64.so.1', linkname: 'ld-musl-aarch64.so.1' },
      ],
      [],
      'l',
    );
    assert.deepEqual(await detectLibc([l], 'test base'), { kind: 'musl', version: [1, 2] });
  });
  it('reads an uncompressed tar layer too', async () => {
    const bytes = await tarOf([{ name: 'lib/libc.so.6', data: GLIBC_236 }]);
    const l: LayerBlob = { mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([bytes]) };
    assert.deepEqual(await detectLibc([l], 'test base'), { kind: 'glibc', version: [2, 36] });
  });
  it('no C library: an InputError saying to set libc in [tool.shale]', async () => {
    const l = await layer([{ name: 'bin/busybox', data: 'x' }], [], 'l');
    await assert.rejects(detectLibc([l], 'base image scratch'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_LIBC_UNKNOWN');
      assert.match(e.message, /base image scratch/);
      assert.match(e.message, /libc = "glibc 2\.36".*\[tool\.shale\]/);
      return true;
    });
  });
});

describe('Debian release shortcut', () => {
  it('maps /etc/debian_version of stable releases to their glibc, and nothing else', () => {
    assert.deepEqual(glibcOfDebian('12.5\n')?.libc, { kind: 'glibc', version: [2, 36] });
    assert.deepEqual(glibcOfDebian('11.9')?.libc, { kind: 'glibc', version: [2, 31] });
    assert.deepEqual(glibcOfDebian('13')?.libc, { kind: 'glibc', version: [2, 41] });
    assert.equal(glibcOfDebian('trixie/sid'), undefined);
    assert.equal(glibcOfDebian('99.1'), undefined);
  });

  it('stops at etc/debian_version, before the libc near the end of the layer', async () => {
    const opened: string[] = [];
    // A libc that would say 2.40 sits after etc/: the scan must not need it.
    const l = await layer(
      [
        { name: 'etc/debian_version', data: '12.7\n' },
        { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', data: GLIBC_236.toString('latin1').replace('2.36.', '2.40.') },
      ],
      opened,
      'base',
    );
    assert.deepEqual(await detectLibc([l], 'base image x'), { kind: 'glibc', version: [2, 36] });
    const ubuntu = await layer(
      [
        { name: 'etc/debian_version', data: 'bookworm/sid\n' },
        { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', data: GLIBC_236 },
      ],
      opened,
      'ubuntu',
    );
    assert.deepEqual(await detectLibc([ubuntu], 'base image y'), { kind: 'glibc', version: [2, 36] });
  });
});
