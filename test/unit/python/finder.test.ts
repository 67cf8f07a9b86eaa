import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findWheel } from '../../../src/python/finder.js';
import { Cache } from '../../../src/store/cache.js';
import type { LockedPackage } from '../../../src/python/requirements.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const arm64: TargetEnv = { ...amd64, platform: { os: 'linux', architecture: 'arm64' } };
const pkg = (name: string, version: string, hashes: string[] = []): LockedPackage => ({ name, version, hashes, source: { file: 'requirements.txt', line: 3 } });
const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('findWheel', () => {
  let dir = '';
  let wheels = '';
  let server: Server;
  let base = '';
  const hits: string[] = [];
  let pureSha = '';
  let nativeSha = '';
  const pure = 'demo-1.0-py3-none-any.whl';
  const native = 'demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl';

  before(async () => {
    dir = await tempDir();
    wheels = join(dir, 'wheels');
    await mkdir(wheels);
    const files = [{ name: 'demo/__init__.py', data: 'X = 1\n' }];
    makeWheel(wheels, { name: 'demo', version: '1.0', files });
    makeWheel(wheels, { name: 'demo', version: '1.0', tag: 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64', files, rootIsPurelib: false });
    makeWheel(wheels, { name: 'demo', version: '0.9', tag: 'cp311-cp311-manylinux_2_17_x86_64', files });
    makeWheel(wheels, { name: 'natonly', version: '2.0', tag: 'cp311-cp311-manylinux_2_17_x86_64', files });
    await writeFile(join(wheels, 'srconly-1.0.tar.bz2'), 'not really');
    pureSha = await sha(join(wheels, pure));
    nativeSha = await sha(join(wheels, native));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      hits.push(url);
      const send = (type: string, body: string | Buffer): void => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      if (url === '/links/') {
        return send('text/html', `<html><body><a href="../files/${pure}#sha256=${pureSha}">${pure}</a>\n<a href='../files/${native}'>x</a></body></html>`);
      }
      if (url === '/bad-links/') return send('text/html', `<a href="/files/${pure}#sha256=${'0'.repeat(64)}">x</a>`);
      if (url === '/simple/demo/') {
        return send(
          'text/html',
          `<!DOCTYPE html><html><body><a href="/files/${native}#sha256=${nativeSha}" data-requires-python="&gt;=3.8">${native}</a></body></html>`,
        );
      }
      if (url === '/json/demo/') {
        assert.match(req.headers.accept ?? '', /application\/vnd\.pypi\.simple\.v1\+json/);
        return send(
          'application/vnd.pypi.simple.v1+json',
          JSON.stringify({
            meta: { 'api-version': '1.1' },
            name: 'demo',
            files: [{ filename: pure, url: `../../files/${pure}`, hashes: { sha256: pureSha } }],
          }),
        );
      }
      if (url.startsWith('/files/')) {
        return readFile(join(wheels, decodeURIComponent(url.slice('/files/'.length)))).then(
          (b) => send('application/octet-stream', b),
          () => {
            res.writeHead(404);
            res.end();
          },
        );
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await cleanup(dir);
  });

  const local = { findLinks: ['wheels'], noIndex: true, projectDir: '' };

  it('find-links directory: the best tag per platform, in place, with its hash', async () => {
    const src = { ...local, projectDir: dir };
    const a = await findWheel(pkg('demo', '1.0'), amd64, src, Cache.open(join(dir, 'cache')));
    assert.equal(a.filename, native);
    assert.equal(a.path, join(wheels, native));
    assert.equal(a.sha256, nativeSha);
    assert.equal(a.pure, false);
    const b = await findWheel(pkg('demo', '1.0'), arm64, src, Cache.open(join(dir, 'cache')));
    assert.equal(b.filename, pure);
    assert.equal(b.pure, true);
  });

  it('find-links URL: downloads into cache/wheels/<sha256>/<file>, then reuses the cached file', async () => {
    const cache = join(dir, 'c1');
    const src = { findLinks: [`${base}/links/`], noIndex: true, projectDir: dir };
    const w = await findWheel(pkg('demo', '1.0'), arm64, src, Cache.open(cache));
    assert.equal(w.path, join(cache, 'wheels', pureSha, pure));
    assert.equal(await sha(w.path), pureSha);
    const before = hits.filter((h) => h.startsWith('/files/')).length;
    const again = await findWheel(pkg('demo', '1.0'), arm64, src, Cache.open(cache));
    assert.equal(again.path, w.path);
    assert.equal(hits.filter((h) => h.startsWith('/files/')).length, before, 'no second download');
    // A damaged cached file is noticed and replaced.
    await writeFile(w.path, 'garbage');
    const fixed = await findWheel(pkg('demo', '1.0'), arm64, src, Cache.open(cache));
    assert.equal(await sha(fixed.path), pureSha);
  });

  it('PEP 503 HTML index', async () => {
    const w = await findWheel(
      pkg('Demo', '1.0'),
      amd64,
      { findLinks: [], indexUrl: `${base}/simple`, noIndex: false, projectDir: dir },
      Cache.open(join(dir, 'c2')),
    );
    assert.equal(w.filename, native);
    assert.equal(w.sha256, nativeSha);
  });

  it('PEP 691 JSON index, relative URLs, lock hashes checked', async () => {
    const w = await findWheel(
      pkg('demo', '1.0', [`sha256:${pureSha}`]),
      amd64,
      { findLinks: [], indexUrl: `${base}/json/`, noIndex: false, projectDir: dir },
      Cache.open(join(dir, 'c3')),
    );
    assert.equal(w.filename, pure);
    assert.equal(w.path, join(dir, 'c3', 'wheels', pureSha, pure));
  });

  it('passes over a better wheel whose published hash the lock does not allow', async () => {
    const src = { findLinks: [`${base}/links/`, `${base}/simple/demo/`], noIndex: true, projectDir: dir };
    const w = await findWheel(pkg('demo', '1.0', [`sha256:${pureSha}`]), amd64, src, Cache.open(join(dir, 'c4')));
    assert.equal(w.filename, pure);
  });

  it('hash mismatch against the lock names package, file, expected and actual; nothing is cached', async () => {
    const wrong = `sha256:${'1'.repeat(64)}`;
    const cache = join(dir, 'c5');
    await assert.rejects(
      findWheel(pkg('demo', '1.0', [wrong]), arm64, { findLinks: [`${base}/links/`], noIndex: true, projectDir: dir }, Cache.open(cache)),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_HASH_MISMATCH');
        assert.ok(e.message.includes(pure) && e.message.includes(wrong) && e.message.includes(pureSha) && e.message.includes('demo==1.0'), e.message);
        return true;
      },
    );
    const left = await readdir(join(cache, 'wheels')).catch(() => []);
    assert.deepEqual(left, []);
    await assert.rejects(findWheel(pkg('demo', '1.0', [wrong]), arm64, { ...local, projectDir: dir }, Cache.open(cache)), { code: 'SHALE_HASH_MISMATCH' });
  });

  it('hash mismatch against the link fragment', async () => {
    await assert.rejects(
      findWheel(pkg('demo', '1.0'), arm64, { findLinks: [`${base}/bad-links/`], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'c6'))),
      {
        code: 'SHALE_HASH_MISMATCH',
        message: /link says sha256:0{64}/,
      },
    );
  });

  it('no wheel fits: names the pin, the platform and the wheels that exist', async () => {
    await assert.rejects(
      findWheel(pkg('natonly', '2.0'), arm64, { ...local, projectDir: dir }, Cache.open(join(dir, 'c7'))),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_NO_WHEEL');
        assert.match(e.message, /natonly==2\.0/);
        assert.match(e.message, /linux\/arm64, Python 3\.11, glibc 2\.36/);
        assert.match(e.message, /natonly-2\.0-cp311-cp311-manylinux_2_17_x86_64\.whl/);
        return true;
      },
    );
  });

  it('no files at all: lists the sources looked in, and other versions', async () => {
    await assert.rejects(
      findWheel(
        pkg('nothing', '1.0'),
        amd64,
        { findLinks: ['wheels'], indexUrl: `${base}/simple`, noIndex: false, projectDir: dir },
        Cache.open(join(dir, 'c8')),
      ),
      {
        code: 'SHALE_NO_WHEEL',
        message: /no files for nothing==1\.0 .*found in: find-links wheels, index http:\/\/127\.0\.0\.1:\d+\/simple/,
      },
    );
    await assert.rejects(findWheel(pkg('demo', '2.0'), amd64, { ...local, projectDir: dir }, Cache.open(join(dir, 'c8'))), {
      code: 'SHALE_NO_WHEEL',
      message: /Versions found: 0\.9, 1\.0/,
    });
  });

  it('only an sdist in a format shale does not unpack: says to build a wheel (sdist.test.ts covers building)', async () => {
    await assert.rejects(findWheel(pkg('srconly', '1.0'), amd64, { ...local, projectDir: dir }, Cache.open(join(dir, 'c9'))), {
      code: 'SHALE_SDIST_ONLY',
      message: /srconly-1\.0\.tar\.bz2.*builds only \.tar\.gz and \.zip/,
    });
  });

  it('a missing find-links directory is an input error naming it', async () => {
    await assert.rejects(findWheel(pkg('demo', '1.0'), amd64, { findLinks: ['nope'], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'c10'))), {
      code: 'SHALE_FIND_LINKS_MISSING',
      message: /"nope"/,
    });
  });
});
