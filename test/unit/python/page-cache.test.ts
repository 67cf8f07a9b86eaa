import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listCandidates, type PackageSources } from '../../../src/python/sources.js';
import { Cache } from '../../../src/store/cache.js';
import { startSimpleIndex, type SimpleIndex } from '../../support/simple-index.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

describe('index pages kept between builds (page-cache.ts)', () => {
  let dir = '';
  let fresh: SimpleIndex;
  let revalidated: SimpleIndex;
  const pageRequests = (idx: SimpleIndex): number => idx.requests.filter((r) => r.path === '/simple/demo/').length;
  const sources = (idx: SimpleIndex, cacheDir: string): PackageSources => ({
    findLinks: [],
    indexUrl: idx.url,
    noIndex: false,
    projectDir: dir,
    pageCache: Cache.open(cacheDir).pages,
  });

  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'w'));
    makeWheel(join(dir, 'w'), { name: 'demo', version: '1.0', files: [{ name: 'demo/__init__.py', data: '' }] });
    fresh = await startSimpleIndex([join(dir, 'w')], { maxAge: 600 });
    revalidated = await startSimpleIndex([join(dir, 'w')]);
  });
  after(async () => {
    await fresh.close();
    await revalidated.close();
    await cleanup(dir);
  });

  it('a page the index says is fresh (max-age) is not asked for again', async () => {
    const cache = join(dir, 'c1');
    const first = await listCandidates('demo', sources(fresh, cache));
    const second = await listCandidates('demo', sources(fresh, cache));
    assert.equal(pageRequests(fresh), 1);
    assert.deepEqual(
      second.map((c) => c.filename),
      first.map((c) => c.filename),
    );
    assert.equal(second[0]?.sha256, first[0]?.sha256);
  });

  it('a page with only an ETag is revalidated: 304, same links', async () => {
    const cache = join(dir, 'c2');
    const first = await listCandidates('demo', sources(revalidated, cache));
    const second = await listCandidates('demo', sources(revalidated, cache));
    assert.equal(pageRequests(revalidated), 2);
    assert.deepEqual(second, first);
  });

  it('a damaged record is a miss, never an error', async () => {
    const cache = join(dir, 'c3');
    await listCandidates('demo', sources(revalidated, cache));
    const pages = join(cache, 'index-pages');
    for (const f of await readdir(pages)) await writeFile(join(pages, f), '{"url": tru');
    const before = pageRequests(revalidated);
    const again = await listCandidates('demo', sources(revalidated, cache));
    assert.equal(again.length, 1);
    assert.equal(pageRequests(revalidated), before + 1);
  });
});
