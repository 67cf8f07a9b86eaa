// System layers of the config ([[layers]] system-packages) end to end through the installer,
// over real HTTP from a signed archive made here: each layer's packages resolved over the base
// and the layers below, one layer (and its -all layer) per entry in config order, dpkg's status
// in each layer listing everything so far, an alternative onto a lower layer's file, and a
// lower layer's fingerprint untouched by a change above it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { BaseSystem } from '../../../src/debian/base-system.js';
import { DebianInstaller, type SystemRequest } from '../../../src/debian/install.js';
import type { ShaleEvent } from '../../../src/events.js';
import { PackageHttp } from '../../../src/python/http.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { cleanup, entryText, tempDir } from '../python/helpers.js';
import { inRelease, makeDeb, packagesEntry, testKey, type DebSpec, serveArchive } from './fixtures.js';

const files = new Map<string, Buffer>();
let server: Awaited<ReturnType<typeof serveArchive>>;
let uri: string;
let dir: string;
const http = new PackageHttp({ retry: { budgetMs: 0 } });

const DEBS: DebSpec[] = [
  { name: 'libfoo', version: '1', files: [{ header: { name: './usr/lib/libfoo.so.1' }, data: 'lib' }] },
  { name: 'foo-data', version: '1', arch: 'all', files: [{ header: { name: './usr/share/foo/data' }, data: 'data' }] },
  { name: 'foo', version: '1', depends: 'libfoo, foo-data, libc6', files: [{ header: { name: './usr/bin/foo', mode: 0o755 }, data: 'foo' }] },
  {
    name: 'bar',
    version: '1',
    depends: 'libfoo',
    files: [{ header: { name: './usr/bin/bar', mode: 0o755 }, data: 'bar' }],
    postinst: '#!/bin/sh\nadduser --system bar\nupdate-alternatives --install /usr/bin/editor editor /usr/bin/foo 50\n',
  },
  { name: 'qux', version: '1', files: [{ header: { name: './usr/bin/qux', mode: 0o755 }, data: 'qux' }] },
];

const STATUS = 'Package: libc6\nStatus: install ok installed\nVersion: 2.36\nArchitecture: amd64\n';

before(async () => {
  dir = await tempDir('shale-deb-install-');
  server = await serveArchive(files);
  uri = server.uri;
  const key = await testKey();
  await writeFile(join(dir, 'archive.gpg'), key.keyring);
  const paragraphs: string[] = [];
  for (const spec of DEBS) {
    const deb = await makeDeb(spec);
    const filename = `pool/main/${spec.name}_${spec.version}_${spec.arch ?? 'amd64'}.deb`;
    files.set(`/debian/${filename}`, deb.bytes);
    paragraphs.push(packagesEntry(deb.control, filename, deb.bytes));
  }
  const packages = gzipSync(Buffer.from(paragraphs.join('\n')));
  files.set('/debian/dists/stable/main/binary-amd64/Packages.gz', packages);
  files.set('/debian/dists/stable/InRelease', Buffer.from(await inRelease('stable', { 'main/binary-amd64/Packages.gz': packages }, key.priv)));
});
after(async () => {
  await server.close();
  await http.close();
  await cleanup(dir);
});

function installer(log: ShaleEvent[] = []): DebianInstaller {
  const records = new Map<string, unknown>();
  return new DebianInstaller({
    store: new FsBlobStore(join(dir, 'blobs')),
    records: { get: () => Promise.resolve(undefined), add: () => Promise.resolve(), once: (_k, work) => work() },
    layerRecords: { get: (k) => Promise.resolve(records.get(k.join(' '))), set: (k, v) => Promise.resolve(void records.set(k.join(' '), v)) },
    http,
    events: (e) => log.push(e),
    noCache: false,
  });
}

const request = (groups: SystemRequest['groups']): SystemRequest => ({
  groups,
  aptSources: [`deb [signed-by=archive.gpg] ${uri} stable main`],
  configFile: join(dir, 'pyproject.toml'),
  projectDir: dir,
});

const system = (status: string | undefined): BaseSystem => ({
  osRelease: { ID: 'debian' },
  ...(status === undefined ? {} : { status }),
  statusD: status === undefined ? { libc6: STATUS.replace(/^Status:.*\n/m, '') } : {},
  sourceLists: {},
  keyrings: {},
  rootLinks: { bin: 'usr/bin', lib: 'usr/lib' },
});

const amd64 = { os: 'linux', architecture: 'amd64' };

describe('system layers of the config', () => {
  it('one layer per [[layers]] entry, in order, each resolved over the ones below; dpkg status lists everything so far', async () => {
    const log: ShaleEvent[] = [];
    const inst = installer(log);
    const base = system(STATUS);
    const req = request([
      { name: 'system', packages: ['foo'] },
      { name: 'tools', packages: ['bar', 'libfoo'] },
    ]);
    const { pins, alreadyInstalled } = await inst.resolve(req, base, amd64);
    assert.deepEqual(
      pins.map((p) => `${p.layer}: ${p.name}`),
      ['system: foo', 'system: foo-data', 'system: libfoo', 'tools: bar'],
    );
    assert.deepEqual(alreadyInstalled, ['libfoo (in layer system)']);
    const layers = inst.planLayers(pins, base, 0, [], ['system', 'tools']);
    assert.deepEqual(
      layers.map((l) => l.name),
      ['system-all', 'system', 'tools'],
    );
    assert.ok(
      !(await layers[1]!.entries()).some((e) => e.path === 'var/lib/dpkg/status'),
      "the status file is the topmost system layer's alone: no path written by two layers",
    );
    const tools = await layers[2]!.entries();
    const status = await entryText(tools, 'var/lib/dpkg/status');
    assert.deepEqual(
      [...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]),
      ['bar', 'foo', 'foo-data', 'libc6', 'libfoo'],
      "the base's and the lower layer's packages with the layer's own",
    );
    assert.deepEqual(
      tools.filter((e) => e.path.startsWith('var/lib/dpkg/info/')).map((e) => e.path),
      ['var/lib/dpkg/info/bar.list', 'var/lib/dpkg/info/bar.md5sums', 'var/lib/dpkg/info/bar.postinst'],
      'info files only for its own packages: the lower ones are in the layer below',
    );
    assert.ok(
      tools.some((e) => e.path === 'usr/bin/editor' && e.type === 'symlink'),
      "bar's postinst registers an alternative onto foo, from the layer below",
    );
    assert.ok(!tools.some((e) => e.path === 'usr/bin/foo'), "the lower layer's files stay there");
    assert.ok(
      log.some((e) => e.type === 'log' && e.level === 'warn' && /^system packages \(layer tools\): maintainer scripts are not run; /.test(e.message)),
      'the unrun script is said, naming the layer',
    );

    const more = inst.planLayers(
      (await inst.resolve(request([req.groups[0]!, { name: 'tools', packages: ['bar', 'qux'] }]), base, amd64)).pins,
      base,
      0,
      [],
      ['system', 'tools'],
    );
    assert.deepEqual(
      more.slice(0, 2).map((l) => l.fingerprint),
      layers.slice(0, 2).map((l) => l.fingerprint),
      'a change in a higher layer leaves the lower ones as they were (reused)',
    );
    assert.notEqual(more[2]!.fingerprint, layers[2]!.fingerprint);
    const alone = inst.planLayers(
      pins.filter((p) => p.layer === 'tools'),
      base,
      0,
      [],
      ['system', 'tools'],
    );
    assert.notEqual(alone[0]!.fingerprint, layers[2]!.fingerprint, "a layer's records depend on the layers below it");
  });

  it("on a base with status.d (distroless), each layer writes only its own packages' records", async () => {
    const inst = installer();
    const base = system(undefined);
    const { pins } = await inst.resolve(
      request([
        { name: 'low', packages: ['libfoo'] },
        { name: 'high', packages: ['bar'] },
      ]),
      base,
      amd64,
    );
    const [low, high] = inst.planLayers(pins, base, 0, [], ['low', 'high']);
    assert.deepEqual([low!.name, high!.name], ['low', 'high']);
    assert.deepEqual(
      (await high!.entries()).filter((e) => e.path.startsWith('var/lib/dpkg/')).map((e) => e.path),
      ['var/lib/dpkg/status.d/bar', 'var/lib/dpkg/status.d/bar.md5sums'],
    );
  });

  it('a package nothing provides is named with its layer', async () => {
    await assert.rejects(
      installer().resolve(
        request([
          { name: 'system', packages: ['foo'] },
          { name: 'media', packages: ['ffmpeg'] },
        ]),
        system(STATUS),
        amd64,
      ),
      /pyproject\.toml: layer "media" system-packages: no Debian package "ffmpeg"/,
    );
  });
});
