// The system layer's entries: package files through merged-/usr links, hard links as copies,
// and dpkg's records: a merged status (the base's paragraphs kept, a replaced version dropped,
// sorted), info/<pkg>.list/.md5sums/.conffiles, Multi-Arch: same names; status.d on distroless.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readDeb } from '../../../src/debian/deb.js';
import { dataEntries, dpkgEntries, statusStanza, throughLinks, type LaidPackage } from '../../../src/debian/system-layer.js';
import { scriptNotes } from '../../../src/debian/scripts.js';
import { alternativeEntries, installCalls } from '../../../src/debian/alternatives.js';
import { entryText } from '../python/helpers.js';
import { makeDeb } from './fixtures.js';

async function laid(spec: Parameters<typeof makeDeb>[0]): Promise<LaidPackage> {
  const deb = await makeDeb(spec);
  return { name: spec.name, architecture: spec.arch ?? 'amd64', contents: await readDeb(deb.bytes, spec.name) };
}

describe('system layer entries', () => {
  it("lays files through the base's top-level links, and hard links as copies", async () => {
    const p = await laid({
      name: 'tool',
      version: '1',
      files: [
        { header: { name: './bin/', type: 'directory' } },
        { header: { name: './bin/tool', mode: 0o755 }, data: 'ELF' },
        { header: { name: './usr/bin/tool2', type: 'link', linkname: './bin/tool' } },
        { header: { name: './usr/lib/libt.so.1', type: 'symlink', linkname: 'libt.so.1.0' } },
      ],
    });
    const entries = dataEntries([p], { bin: 'usr/bin' });
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.path}`),
      ['file usr/bin/tool', 'file usr/bin/tool2', 'symlink usr/lib/libt.so.1'],
    );
    assert.equal(await entryText(entries, 'usr/bin/tool2'), 'ELF');
    assert.equal(throughLinks('bin', { bin: 'usr/bin' }), undefined, 'the link itself is never replaced by a directory');
    const indep = await laid({
      name: 'data',
      version: '1',
      arch: 'all',
      files: [
        { header: { name: './lib64/x' }, data: 'x' },
        { header: { name: './usr/share/d' }, data: 'd' },
      ],
    });
    assert.deepEqual(
      dataEntries([indep], {}).map((e) => e.path),
      ['usr/share/d'],
      'an Architecture: all package never writes the per-architecture lib64',
    );
  });
  it('keeps special modes and owners other than root exactly; the rest takes the normal form', async () => {
    const p = await laid({
      name: 'skel',
      version: '1',
      files: [
        { header: { name: './tmp/', type: 'directory', mode: 0o1777 } },
        { header: { name: './usr/bin/passwd', mode: 0o4755 }, data: 'ELF' },
        { header: { name: './var/mail/', type: 'directory', mode: 0o2775, gid: 8 } },
        { header: { name: './usr/bin/plain', mode: 0o755 }, data: 'ELF' },
      ],
    });
    const owners = dataEntries([p], {}).map(
      (e) => `${e.path} ${e.type !== 'symlink' && e.owner ? `${e.owner.mode.toString(8)} ${e.owner.uid}:${e.owner.gid}` : '-'}`,
    );
    assert.deepEqual(owners.sort(), ['tmp 1777 0:0', 'usr/bin/passwd 4755 0:0', 'usr/bin/plain -', 'var/mail 2775 0:8']);
  });

  it("writes a merged status and dpkg's info files on a Debian base", async () => {
    const a = await laid({ name: 'libfoo1', version: '2.0', multiArch: 'same', files: [{ header: { name: './usr/lib/libfoo.so.1' }, data: 'x' }] });
    const b = await laid({
      name: 'foo',
      version: '2.0',
      conffiles: ['/etc/foo.conf'],
      files: [
        { header: { name: './etc/foo.conf' }, data: 'conf\n' },
        { header: { name: './usr/bin/foo', mode: 0o755 }, data: 'y' },
      ],
    });
    const status =
      'Package: zlib1g\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\nPackage: foo\nStatus: install ok ' +
      'installed\nVersion: 1.0\nArchitecture: amd64\n';
    const entries = dpkgEntries([a, b], { status, rootLinks: {} });
    const merged = await entryText(entries, 'var/lib/dpkg/status');
    assert.deepEqual(
      [...merged.matchAll(/^Package: (.*)$/gm)].map((m) => m[1]),
      ['foo', 'libfoo1', 'zlib1g'],
    );
    assert.doesNotMatch(merged, /Version: 1\.0/, "the base's foo 1.0 is replaced");
    assert.match(merged, /Package: foo\nStatus: install ok installed\nVersion: 2\.0/);
    assert.match(merged, /Conffiles:\n \/etc\/foo\.conf [0-9a-f]{32}\nDescription: test package foo\n two lines\n/);
    assert.equal(await entryText(entries, 'var/lib/dpkg/info/libfoo1:amd64.list'), '/.\n/usr/lib/libfoo.so.1\n');
    assert.match(await entryText(entries, 'var/lib/dpkg/info/foo.md5sums'), / {2}usr\/bin\/foo\n/);
    assert.equal(await entryText(entries, 'var/lib/dpkg/info/foo.conffiles'), '/etc/foo.conf\n');
  });
  it('writes status.d files when the base has no status file (distroless)', async () => {
    const a = await laid({ name: 'libfoo1', version: '2.0', files: [{ header: { name: './usr/lib/libfoo.so.1' }, data: 'x' }] });
    const entries = dpkgEntries([a], { rootLinks: {} });
    assert.deepEqual(
      entries.map((e) => e.path),
      ['var/lib/dpkg/status.d/libfoo1', 'var/lib/dpkg/status.d/libfoo1.md5sums'],
    );
    assert.match(await entryText(entries, 'var/lib/dpkg/status.d/libfoo1'), /^Package: libfoo1\nStatus: install ok installed\n/);
    assert.equal(statusStanza(a).get('Version'), '2.0');
  });
  it('says what a maintainer script would have done, ldconfig and literal update-alternatives calls aside', () => {
    const script = '#!/bin/sh\nset -e\nldconfig\nupdate-alternatives --install /usr/bin/x x /usr/bin/x1 10\nadduser --system xd\n';
    const notes = scriptNotes('x', new Map([['postinst', Buffer.from(script)]]));
    assert.deepEqual(notes, ['x: its postinst creates system users or groups: they are missing']);
    const dynamic = scriptNotes('z', new Map([['postinst', Buffer.from('update-alternatives --install "$LINK" "$NAME" "$P" 10\n')]]));
    assert.match(dynamic[0]!, /registers alternatives in a way shale cannot read/);
    assert.deepEqual(scriptNotes('y', new Map([['postinst', Buffer.from('#!/bin/sh\nset -e\nif [ "$1" = configure ]; then ldconfig; fi\n')]])), []);
  });
  it('lays literal update-alternatives calls in automatic mode: the highest priority wins, slaves follow', () => {
    const calls = installCalls(
      'update-alternatives --install /usr/bin/pager pager /usr/bin/less 77 \\\n' +
        '  --slave /usr/share/man/man1/pager.1.gz pager.1.gz /usr/share/man/man1/less.1.gz\n' +
        'update-alternatives --install /usr/bin/pager pager /usr/bin/more 50\nupdate-alternatives --install /usr/bin/gone gone /usr/bin/nothere 10\n',
    );
    assert.equal(calls.length, 3);
    const have = new Set(['usr/bin/less', 'usr/bin/more', 'usr/share/man/man1/less.1.gz']);
    const entries = alternativeEntries(calls, (p) => have.has(p));
    const links = entries.flatMap((e) => (e.type === 'symlink' ? [`${e.path} -> ${e.target}`] : []));
    assert.deepEqual(links, [
      'usr/bin/pager -> /etc/alternatives/pager',
      'etc/alternatives/pager -> /usr/bin/less',
      'usr/share/man/man1/pager.1.gz -> /etc/alternatives/pager.1.gz',
      'etc/alternatives/pager.1.gz -> /usr/share/man/man1/less.1.gz',
    ]);
    assert.equal(entries.find((e) => e.path === 'var/lib/dpkg/alternatives/pager')?.type, 'file', "dpkg's record of the alternative is written");
  });
});
