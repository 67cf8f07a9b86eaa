// The one layer reader: entries streamed through gunzip and tar-headers.ts, bodies read or skipped,
// and stopping early stops the download.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { layerCompression, layerEntries, normalizeTarPath } from '../../../src/layer/read-entries.js';
import { tarBuffer } from '../../support/tar.js';

const tar = () =>
  tarBuffer([
    { header: { name: './usr/', type: 'directory' } },
    { header: { name: './usr/bin/python3', type: 'symlink', linkname: 'python3.11' } },
    { header: { name: './usr/bin/python3.11', mode: 0o755 }, data: 'interpreter' },
    { header: { name: './usr/bin/py', type: 'link', linkname: './usr/bin/python3.11' } },
    { header: { name: './usr/share/big.bin' }, data: randomBytes(4 << 20) },
    { header: { name: './usr/share/last.txt' }, data: 'last' },
  ]);

describe('layerEntries', () => {
  it('lists paths (absolute, normalized), types, modes, sizes and link targets; unread bodies are skipped', async () => {
    const gz = gzipSync(await tar());
    const seen: string[] = [];
    let last = '';
    for await (const e of layerEntries({ open: async () => Readable.from([gz]) })) {
      seen.push(`${e.type} ${e.path}${e.linkname ? ` -> ${e.linkname}` : ''}`);
      if (e.path === '/usr/bin/python3.11') assert.equal(e.mode, 0o755);
      if (e.path === '/usr/share/last.txt') last = (await e.bytes()).toString();
    }
    assert.deepEqual(seen, [
      'dir /usr',
      'symlink /usr/bin/python3 -> python3.11',
      'file /usr/bin/python3.11',
      'link /usr/bin/py -> /usr/bin/python3.11',
      'file /usr/share/big.bin',
      'file /usr/share/last.txt',
    ]);
    assert.equal(last, 'last');
  });

  it('breaking out stops the download', async () => {
    const gz = gzipSync(await tar());
    let read = 0;
    const open = async () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < gz.length; i += 65536) {
            read += Math.min(65536, gz.length - i);
            yield gz.subarray(i, i + 65536);
          }
        })(),
      );
    for await (const e of layerEntries({ open })) if (e.path === '/usr/bin/python3.11') break;
    assert.ok(read < gz.length / 2, `read ${read} of ${gz.length} bytes`);
  });

  it('reads an uncompressed layer by its media type; zstd and garbage are errors', async () => {
    const plain = await tar();
    const names: string[] = [];
    for await (const e of layerEntries({ mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([plain]) })) names.push(e.path);
    assert.equal(names.length, 6);
    assert.equal(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip'), 'gzip');
    assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd'), 'zstd');
    await assert.rejects(
      async () => {
        for await (const _ of layerEntries({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', open: async () => Readable.from([plain]) })) void _;
      },
      { code: 'SHALE_LAYER_ZSTD' },
    );
    await assert.rejects(async () => {
      for await (const _ of layerEntries({ open: async () => Readable.from([Buffer.from('not gzip')]) })) void _;
    });
  });

  it('normalizeTarPath', () => {
    assert.equal(normalizeTarPath('./usr/bin/'), '/usr/bin');
    assert.equal(normalizeTarPath('./'), '/');
  });
});
