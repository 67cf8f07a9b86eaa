import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import type { ImageConfig, Platform } from '../../../src/oci/types.js';
import { checkConflicts } from '../../../src/validate/conflicts.js';
import { checkEntrypoint } from '../../../src/validate/entrypoint.js';
import { checkExcluded } from '../../../src/validate/excluded.js';
import { readLayerEntries, type LayerEntry } from '../../../src/validate/layer-entries.js';
import { checkNativeFiles } from '../../../src/validate/native-files.js';
import type { ImageView, LayerView } from '../../../src/validate/result.js';
import { RootFs } from '../../../src/validate/root-fs.js';
import { elfHead, layer } from './fixtures.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const config = (c: NonNullable<ImageConfig['config']>, p: Platform = amd64): ImageConfig => ({
  architecture: p.architecture,
  os: p.os,
  config: c,
  rootfs: { type: 'layers', diff_ids: [] },
});
const image = (platform: Platform, layers: LayerView[], c: ImageConfig = config({}, platform)): ImageView => ({ platform, config: c, layers });

test('readLayerEntries: paths normalized, types and modes kept, ELF headers read from the first bytes', async () => {
  const l = await layer('x', [
    { name: './usr/', type: 'directory' },
    { name: './usr/lib/ext.so', data: elfHead(183), mode: 0o755 },
    { name: 'usr/bin/tool', type: 'symlink', linkname: '../lib/ext.so' },
    { name: 'big.py', data: 'x'.repeat(200_000) },
  ]);
  const by = new Map<string, LayerEntry>(l.entries.map((e) => [e.path, e]));
  assert.equal(by.get('/usr')?.type, 'dir');
  assert.equal(by.get('/usr/lib/ext.so')?.elf?.machine, 183);
  assert.equal(by.get('/usr/lib/ext.so')?.mode, 0o755);
  assert.equal(by.get('/usr/bin/tool')?.linkname, '../lib/ext.so');
  assert.equal(by.get('/big.py')?.elf, undefined);
  await assert.rejects(
    readLayerEntries(() => Promise.resolve(Readable.from([Buffer.from('not gzip')])), 'layer junk'),
    /reading layer junk: it is not a readable gzip'd tar/,
  );
});

test('native-files: an x86-64 extension in the arm64 image fails, naming platform, path and layer; base layers are not judged', async () => {
  const good = await layer('deps-native-1', [{ name: 'site/_yaml.so', data: elfHead(183) }]);
  const wrong = await layer('deps-native-1', [{ name: 'site/_yaml.so', data: elfHead(62) }]);
  const base = await layer('base', [{ name: 'usr/bin/qemu-helper', data: elfHead(62) }], false);
  const ok = checkNativeFiles([image(amd64, [await layer('deps-native-2', [{ name: 'site/_yaml.so', data: elfHead(62) }])]), image(arm64, [base, good])]);
  assert.equal(ok.ok, true, ok.reason);
  assert.match(ok.reason, /linux\/amd64: 1 ELF file, all x86-64; linux\/arm64: 1 ELF file, all AArch64/);
  const bad = checkNativeFiles([image(arm64, [wrong])]);
  assert.equal(bad.ok, false);
  assert.equal(bad.reason, 'linux/arm64: /site/_yaml.so (layer deps-native-1) is x86-64, not AArch64');
});

test('no-conflicts: a file in two shale layers fails; shared directories and base files do not', async () => {
  const base = await layer('base', [{ name: 'usr/lib/a.py', data: 'base' }], false);
  const libs = await layer('libs', [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/lib/a.py', data: 'lib' },
    { name: 'usr/lib/b.py', data: 'b' },
  ]);
  const app = await layer('app', [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/lib/b.py', data: 'app' },
  ]);
  const r = checkConflicts([image(amd64, [base, libs, app])]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, ['/usr/lib/b.py is written by layers libs and app, with different contents']);
  const two = checkConflicts([image(amd64, [libs, app]), image(arm64, [libs, app])]);
  assert.deepEqual(two.problems, ['/usr/lib/b.py is written by layers libs and app, with different contents (linux/amd64, linux/arm64)']);
  assert.equal(checkConflicts([image(amd64, [base, libs])]).ok, true);
  // A namespace package's identical __init__.py in two package layers is not a conflict.
  const ns1 = await layer('deps-pure-1', [{ name: 'site/google/__init__.py', data: '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n' }]);
  const ns2 = await layer('deps-pure-2', [{ name: 'site/google/__init__.py', data: '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n' }]);
  assert.equal(checkConflicts([image(amd64, [ns1, ns2])]).ok, true);
});

test('no-excluded-files: secrets and caches in the app layer fail; other layers are not the app', async () => {
  const app = await layer('app', [
    { name: 'app/main.py', data: '' },
    { name: 'app/.env', data: 'SECRET=1' },
    { name: 'app/certs/server.pem', data: '' },
    { name: 'app/.git/', type: 'directory' },
    { name: 'app/pkg/__pycache__/m.cpython-311.pyc', data: '' },
    { name: 'app/id_rsa.pub', data: '' },
    { name: 'app/environment.py', data: '' },
  ]);
  const r = checkExcluded([image(amd64, [app])]);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.problems.map((p) => p.split(' ')[0]),
    ['/app/.env', '/app/certs/server.pem', '/app/.git', '/app/pkg/__pycache__/m.cpython-311.pyc', '/app/id_rsa.pub'],
  );
  assert.match(r.problems[0] ?? '', /matches the default exclude "\.env"/);
  const deps = await layer('deps-pure-1', [{ name: 'site/pkg/__pycache__/x.pyc', data: '' }]);
  assert.equal(checkExcluded([image(amd64, [deps, await layer('app', [{ name: 'app/main.py', data: '' }])])]).ok, true);
});

test('entrypoint: found on PATH through symlinked directories and files; missing, not executable or wrong machine fail', async () => {
  const base = await layer(
    'base',
    [
      { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/python3.11', data: elfHead(62), mode: 0o755 },
      { name: 'usr/bin/python3', type: 'symlink', linkname: 'python3.11' },
      { name: 'usr/bin/notes', data: 'text', mode: 0o644 },
      { name: 'opt/gone', data: '#!/bin/sh\n', mode: 0o755 },
    ],
    false,
  );
  const app = await layer('app', [
    { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
    { name: 'opt/.wh.gone', data: '' },
  ]);
  const check = (c: NonNullable<ImageConfig['config']>, p: Platform = amd64) => checkEntrypoint([image(p, [base, app], config(c, p))]);

  const ok = check({ Entrypoint: ['python3', 'main.py'], Env: ['PATH=/bin'] });
  assert.equal(ok.ok, true, ok.reason);
  assert.equal(ok.reason, 'linux/amd64: python3 is /bin/python3 → /usr/bin/python3.11 (x86-64 ELF)');
  assert.equal(check({ Entrypoint: ['/bin/python3'] }).ok, true);
  assert.equal(check({ Cmd: ['./run.sh'], WorkingDir: '/app' }).ok, true, 'a relative path is taken from WorkingDir; Cmd counts without an entrypoint');
  assert.match(
    check({ Entrypoint: ['gunicorn'] }).reason,
    /^linux\/amd64: the entrypoint's program "gunicorn" is not in the image on PATH \(\/usr\/local\/sbin:/,
  );
  assert.match(check({ Entrypoint: ['/opt/gone'] }).reason, /"\/opt\/gone" is not in the image at \/opt\/gone/, 'a whiteout deletes it');
  assert.match(check({ Entrypoint: ['/usr/bin/notes'] }).reason, /\/usr\/bin\/notes is not executable \(mode 644\)/);
  assert.match(check({ Entrypoint: ['python3'] }, arm64).reason, /linux\/arm64: the entrypoint's program \/usr\/bin\/python3\.11 is x86-64, not AArch64/);
  assert.match(check({}).reason, /neither an entrypoint nor a cmd/);
});

test('RootFs: symlink loops end, and opaque whiteouts clear a directory', async () => {
  const a = await layer(
    'a',
    [
      { name: 'x', type: 'symlink', linkname: 'y' },
      { name: 'y', type: 'symlink', linkname: 'x' },
      { name: 'd/f', data: '' },
    ],
    false,
  );
  const b = await layer(
    'b',
    [
      { name: 'd/.wh..wh..opq', data: '' },
      { name: 'd/g', data: '' },
    ],
    false,
  );
  const fs = new RootFs([a.entries, b.entries]);
  assert.equal(fs.resolve('/x'), undefined);
  assert.equal(fs.resolve('/d/f'), undefined);
  assert.equal(fs.resolve('/d/g')?.path, '/d/g');
});
