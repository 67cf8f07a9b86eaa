import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveWheel } from '../../../src/python/finder.js';
import { Cache } from '../../../src/store/cache.js';
import type { LockedPackage } from '../../../src/python/requirements.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const arm64: TargetEnv = { ...amd64, platform: { os: 'linux', architecture: 'arm64' } };
const pkg = (hashes: string[] = []): LockedPackage => ({ name: 'demo', version: '1.0', hashes, source: { file: 'requirements.txt', line: 3 } });

describe('resolveWheel', () => {
  let dir = '';
  let wheels = '';
  let server: Server;
  let base = '';
  /** "METHOD /path" of every request. */
  const hits: string[] = [];
  let etag = '"v1"';
  const pure = 'demo-1.0-py3-none-any.whl';
  const native = 'demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl';
  const files = new Map<string, { sha: string; size: number }>();
  const info = (f: string): { sha: string; size: number } => {
    const i = files.get(f);
    if (!i) throw new Error(`no fixture ${f}`);
    return i;
  };
  const wheelRequests = (method: string): number => hits.filter((h) => h.startsWith(`${method} `) && h.endsWith('.whl')).length;

  before(async () => {
    dir = await tempDir();
    wheels = join(dir, 'wheels');
    await mkdir(wheels);
    const members = [{ name: 'demo/__init__.py', data: 'X = 1\n' }];
    makeWheel(wheels, { name: 'demo', version: '1.0', files: members });
    makeWheel(wheels, { name: 'demo', version: '1.0', tag: 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64', files: members, rootIsPurelib: false });
    for (const f of [pure, native]) {
      const b = await readFile(join(wheels, f));
      files.set(f, { sha: createHash('sha256').update(b).digest('hex'), size: b.length });
    }
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      hits.push(`${req.method ?? 'GET'} ${url}`);
      const page = (type: string, body: string): void => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      };
      const frag = (f: string): string => `#sha256=${info(f).sha}`;
      if (url === '/frag/') return page('text/html', `<a href="/files/${pure}${frag(pure)}">p</a><a href="/files/${native}${frag(native)}">n</a>`);
      if (url === '/wrongfrag/') return page('text/html', `<a href="/files/${pure}#sha256=${'0'.repeat(64)}">p</a>`);
      if (url === '/nohash/') return page('text/html', `<a href="/etag-files/${pure}">p</a>`);
      if (url === '/nolen/') return page('text/html', `<a href="/nolen-files/${pure}${frag(pure)}">p</a>`);
      if (url === '/pep691/demo/') {
        const entry = (f: string): object => ({ filename: f, url: `/files/${f}`, hashes: { sha256: info(f).sha }, size: info(f).size });
        return page(
          'application/vnd.pypi.simple.v1+json',
          JSON.stringify({ meta: { 'api-version': '1.1' }, name: 'demo', files: [entry(pure), entry(native)] }),
        );
      }
      const m = /^\/(files|etag-files|nolen-files)\/(.+)$/.exec(url);
      if (m) {
        const [, kind, name] = m;
        if (kind === 'nolen-files' && req.method === 'HEAD') {
          res.writeHead(405);
          return res.end();
        }
        return readFile(join(wheels, decodeURIComponent(name ?? ''))).then(
          (b) => {
            const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'content-length': b.length };
            if (kind === 'etag-files') headers.etag = etag;
            res.writeHead(200, headers);
            res.end(req.method === 'HEAD' ? undefined : b);
          },
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

  it('find-links directory: hash and size of the file in place, nothing copied', async () => {
    const c = await resolveWheel(pkg(), amd64, { findLinks: ['wheels'], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'c0')));
    assert.equal(c.filename, native);
    assert.equal(c.sha256, info(native).sha);
    assert.equal(c.size, (await stat(join(wheels, native))).size);
    assert.equal(c.pure, false);
    assert.equal((await c.fetch()).path, join(wheels, native));
  });

  it('find-links URL with #sha256=: no GET of the wheel until fetch(), size by HEAD; fetch downloads once and verifies', async () => {
    hits.length = 0;
    const cache = join(dir, 'c1');
    const c = await resolveWheel(pkg(), arm64, { findLinks: [`${base}/frag/`], noIndex: true, projectDir: dir }, Cache.open(cache));
    assert.equal(c.filename, pure);
    assert.equal(c.sha256, info(pure).sha);
    assert.equal(c.size, info(pure).size);
    assert.equal(c.pure, true);
    assert.equal(wheelRequests('GET'), 0, hits.join('\n'));
    assert.equal(wheelRequests('HEAD'), 1, 'size from Content-Length of a HEAD');
    const [a, b] = await Promise.all([c.fetch(), c.fetch()]);
    assert.equal(a.path, join(cache, 'wheels', info(pure).sha, pure));
    assert.equal(b.path, a.path);
    assert.equal(await c.fetch(), a);
    assert.equal(wheelRequests('GET'), 1, 'one download');
    // A second build with the cache filled: size from the cached file, no request for the wheel.
    hits.length = 0;
    const again = await resolveWheel(pkg(), arm64, { findLinks: [`${base}/frag/`], noIndex: true, projectDir: dir }, Cache.open(cache));
    assert.equal(again.size, info(pure).size);
    assert.equal((await again.fetch()).path, a.path);
    assert.equal(wheelRequests('GET') + wheelRequests('HEAD'), 0, hits.join('\n'));
  });

  it('PEP 691 index with hashes and PEP 700 size: not one request for the wheel until fetch()', async () => {
    hits.length = 0;
    const cache = join(dir, 'c2');
    const src = { findLinks: [], indexUrl: `${base}/pep691`, noIndex: false, projectDir: dir };
    const c = await resolveWheel(pkg([`sha256:${info(native).sha}`, `sha256:${info(pure).sha}`]), amd64, src, Cache.open(cache));
    assert.equal(c.filename, native);
    assert.deepEqual([c.sha256, c.size], [info(native).sha, info(native).size]);
    assert.equal(wheelRequests('GET') + wheelRequests('HEAD'), 0, hits.join('\n'));
    const f = await c.fetch();
    assert.equal(f.sha256, info(native).sha);
    assert.equal(wheelRequests('GET'), 1);
  });

  it('a wrong #sha256= is caught by fetch(), and nothing is cached', async () => {
    const cache = join(dir, 'c3');
    const c = await resolveWheel(pkg(), arm64, { findLinks: [`${base}/wrongfrag/`], noIndex: true, projectDir: dir }, Cache.open(cache));
    assert.equal(c.sha256, '0'.repeat(64));
    await assert.rejects(c.fetch(), { code: 'SHALE_HASH_MISMATCH', message: /link says sha256:0{64}/ });
    await assert.rejects(stat(join(cache, 'wheels', info(pure).sha)));
  });

  it('a lock with a single hash names a hashless link without downloading it', async () => {
    hits.length = 0;
    const c = await resolveWheel(
      pkg([`sha256:${info(pure).sha}`]),
      arm64,
      { findLinks: [`${base}/nohash/`], noIndex: true, projectDir: dir },
      Cache.open(join(dir, 'c4')),
    );
    assert.deepEqual([c.sha256, c.size], [info(pure).sha, info(pure).size]);
    assert.equal(wheelRequests('GET'), 0, hits.join('\n'));
    assert.equal((await c.fetch()).sha256, info(pure).sha);
  });

  it('a lock hash the link contradicts is reported as today, with the actual hash', async () => {
    const wrong = `sha256:${'1'.repeat(64)}`;
    await assert.rejects(
      resolveWheel(pkg([wrong]), arm64, { findLinks: [`${base}/frag/`], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'c5'))),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_HASH_MISMATCH');
        assert.ok(e.message.includes(wrong) && e.message.includes(info(pure).sha), e.message);
        return true;
      },
    );
  });

  it('no hash anywhere: downloads once, then a HEAD with the same ETag names the cached file', async () => {
    const cache = join(dir, 'c6');
    const src = { findLinks: [`${base}/nohash/`], noIndex: true, projectDir: dir };
    hits.length = 0;
    const first = await resolveWheel(pkg(), arm64, src, Cache.open(cache));
    assert.equal(first.sha256, info(pure).sha);
    assert.equal(wheelRequests('GET'), 1, 'the hash needs the bytes');
    await first.fetch();
    assert.equal(wheelRequests('GET'), 1, 'fetch() returns the file resolve downloaded');
    hits.length = 0;
    const second = await resolveWheel(pkg(), arm64, src, Cache.open(cache));
    assert.deepEqual([second.sha256, second.size], [info(pure).sha, info(pure).size]);
    assert.equal(wheelRequests('GET'), 0, hits.join('\n'));
    assert.equal(wheelRequests('HEAD'), 1);
    // A changed ETag means the URL may serve another file: download again.
    etag = '"v2"';
    hits.length = 0;
    await resolveWheel(pkg(), arm64, src, Cache.open(cache));
    assert.equal(wheelRequests('GET'), 1);
  });

  it('no size anywhere and HEAD refused: downloads in resolve, fetch() reuses it', async () => {
    hits.length = 0;
    const c = await resolveWheel(pkg(), arm64, { findLinks: [`${base}/nolen/`], noIndex: true, projectDir: dir }, Cache.open(join(dir, 'c7')));
    assert.equal(c.size, info(pure).size);
    assert.equal(wheelRequests('GET'), 1);
    await c.fetch();
    assert.equal(wheelRequests('GET'), 1);
  });
});
