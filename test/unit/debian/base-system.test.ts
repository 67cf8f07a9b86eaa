// What shale reads of a base's Debian system from its layers: os-release through its symlink,
// dpkg's status or status.d files, sources (one-line and deb822), keyrings, merged-/usr links;
// an upper layer's whiteout removes a lower layer's file; one read per base digest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readBaseSystem } from '../../../src/debian/base-system.js';
import { Cache } from '../../../src/store/cache.js';
import { layer } from '../base/layers.js';
import { cleanup, tempDir } from '../python/helpers.js';

describe('readBaseSystem', () => {
  it('reads the files top layer first, honours whiteouts, and records what it read', async () => {
    const opened: string[] = [];
    const lower = await layer(
      [
        { name: 'bin', linkname: 'usr/bin' },
        { name: 'lib', linkname: 'usr/lib' },
        { name: 'etc/os-release', linkname: '../usr/lib/os-release' },
        { name: 'usr/lib/os-release', data: 'ID=debian\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
        { name: 'var/lib/dpkg/status', data: 'Package: old\nStatus: install ok installed\nVersion: 1\n' },
        { name: 'etc/apt/sources.list', data: 'deb http://deb.debian.org/debian bookworm main\n' },
        { name: 'etc/apt/sources.list.d/gone.list', data: 'deb http://gone/debian bookworm main\n' },
        { name: 'usr/share/keyrings/debian-archive-keyring.gpg', data: 'KEY' },
        { name: 'usr/share/keyrings/readme.txt', data: 'not a keyring' },
      ],
      opened,
      'lower',
    );
    const upper = await layer(
      [
        { name: 'var/lib/dpkg/status', data: 'Package: new\nStatus: install ok installed\nVersion: 2\n' },
        { name: 'etc/apt/sources.list.d/.wh.gone.list' },
        { name: 'etc/apt/sources.list.d/debian.sources', data: 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n' },
      ],
      opened,
      'upper',
    );
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const base = { digest: `sha256:${'1'.repeat(64)}`, layers: [lower, upper] };
      const s = await readBaseSystem(base, cache.base, false);
      assert.equal(s.osRelease['VERSION_CODENAME'], 'bookworm');
      assert.equal(s.osRelease['PRETTY_NAME'], 'Debian GNU/Linux 12 (bookworm)');
      assert.match(s.status ?? '', /Package: new/, "the upper layer's status wins");
      assert.deepEqual(Object.keys(s.sourceLists).sort(), ['/etc/apt/sources.list', '/etc/apt/sources.list.d/debian.sources']);
      assert.deepEqual(Object.keys(s.keyrings), ['/usr/share/keyrings/debian-archive-keyring.gpg']);
      assert.equal(Buffer.from(s.keyrings['/usr/share/keyrings/debian-archive-keyring.gpg']!, 'base64').toString(), 'KEY');
      assert.deepEqual(s.rootLinks, { bin: 'usr/bin', lib: 'usr/lib' });
      assert.deepEqual(opened, ['upper', 'lower']);
      // Recorded: a second read opens no layer.
      assert.deepEqual(await readBaseSystem(base, Cache.open(dir).base, false), s);
      assert.deepEqual(opened, ['upper', 'lower']);
    } finally {
      await cleanup(dir);
    }
  });
  it('reads distroless status.d files; a base with neither has an empty system', async () => {
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const distroless = await layer([
        { name: 'var/lib/dpkg/status.d/libc6', data: 'Package: libc6\nVersion: 2.36\n' },
        { name: 'var/lib/dpkg/status.d/libc6.md5sums', data: 'x  y\n' },
      ]);
      const s = await readBaseSystem({ digest: `sha256:${'2'.repeat(64)}`, layers: [distroless] }, cache.base, false);
      assert.equal(s.status, undefined);
      assert.deepEqual(Object.keys(s.statusD), ['libc6', 'libc6.md5sums']);
    } finally {
      await cleanup(dir);
    }
  });
});
