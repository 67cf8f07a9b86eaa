import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseHtmlLinks, parseJsonLinks } from '../../../src/python/links.js';
import { listCandidates } from '../../../src/python/sources.js';
import { startSimpleIndex, type SimpleIndex } from '../../support/simple-index.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const H = (c: string): string => c.repeat(64);

describe('parseHtmlLinks: PEP 503 / 592 / 658 / 714 attributes', () => {
  const page = 'https://idx.example/simple/demo/';

  it('requires-python (entities decoded, raw > in quotes), yanked with and without a reason', () => {
    const html = [
      `<a href="../../f/demo-1.0-py3-none-any.whl#sha256=${H('A')}" data-requires-python="&gt;=3.8,&lt;4">x</a>`,
      `<a data-requires-python=">=3.9" href='../../f/demo-1.1-py3-none-any.whl'>x</a>`,
      `<a href="../../f/demo-1.2-py3-none-any.whl" data-yanked>x</a>`,
      `<a href="../../f/demo-1.3-py3-none-any.whl" data-yanked="broken &amp; bad">x</a>`,
      `<a href="../../f/demo-1.4-py3-none-any.whl" data-yanked="">x</a>`,
      `<a href="../../f/demo-1.5-py3-none-any.whl" data-requires-python="">x</a>`,
    ].join('\n');
    const links = parseHtmlLinks(html, page);
    assert.equal(links.length, 6);
    assert.deepEqual(links[0], {
      filename: 'demo-1.0-py3-none-any.whl',
      url: 'https://idx.example/f/demo-1.0-py3-none-any.whl',
      sha256: H('a'),
      requiresPython: '>=3.8,<4',
    });
    assert.equal(links[1]?.requiresPython, '>=3.9');
    assert.equal(links[1]?.filename, 'demo-1.1-py3-none-any.whl');
    assert.equal(links[2]?.yanked, '');
    assert.equal(links[3]?.yanked, 'broken & bad');
    assert.equal(links[4]?.yanked, '');
    assert.equal(links[5]?.requiresPython, undefined);
    assert.equal('yanked' in (links[0] ?? {}), false);
  });

  it('core metadata: data-core-metadata first, data-dist-info-metadata otherwise; "true", sha256=, other hashes, false', () => {
    const html = [
      `<a href="/a.whl" data-core-metadata="sha256=${H('B')}">x</a>`,
      `<a href="/b.whl" data-dist-info-metadata="sha256=${H('c')}">x</a>`,
      `<a href="/c.whl" data-dist-info-metadata="true">x</a>`,
      `<a href="/d.whl" data-core-metadata="md5=abc">x</a>`,
      `<a href="/e.whl" data-core-metadata="false" data-dist-info-metadata="true">x</a>`,
      `<a href="/f.whl" data-core-metadata="sha256=${H('d')}" data-dist-info-metadata="sha256=${H('e')}">x</a>`,
      `<a href="/g.whl">x</a>`,
    ].join('\n');
    const md = parseHtmlLinks(html, page).map((l) => l.metadata);
    assert.deepEqual(md, [{ sha256: H('b') }, { sha256: H('c') }, {}, {}, undefined, { sha256: H('d') }, undefined]);
  });

  it('an attribute named like href is not the href', () => {
    const links = parseHtmlLinks('<a data-href="/wrong.whl" href="/right.whl">x</a>', page);
    assert.deepEqual(
      links.map((l) => l.filename),
      ['right.whl'],
    );
  });
});

describe('parseJsonLinks: PEP 691 fields', () => {
  it('requires-python, yanked (false | true | reason), core-metadata / dist-info-metadata', () => {
    const body = {
      meta: { 'api-version': '1.1' },
      files: [
        {
          filename: 'a-1-py3-none-any.whl',
          url: 'a.whl',
          hashes: { sha256: H('1') },
          'requires-python': '>=3.8',
          yanked: false,
          'core-metadata': { sha256: H('2') },
        },
        { filename: 'b.whl', url: 'b.whl', hashes: {}, yanked: true, 'dist-info-metadata': true },
        { filename: 'c.whl', url: 'c.whl', hashes: {}, yanked: 'security issue', 'core-metadata': false, 'dist-info-metadata': true },
        { filename: 'd.whl', url: 'd.whl', hashes: {}, 'core-metadata': { md5: 'x' } },
        { filename: 'e.whl', url: 'e.whl', hashes: {}, 'dist-info-metadata': { sha256: H('F') } },
      ],
    };
    const links = parseJsonLinks(body, 'https://idx.example/simple/a/');
    assert.deepEqual(links[0], {
      filename: 'a-1-py3-none-any.whl',
      url: 'https://idx.example/simple/a/a.whl',
      sha256: H('1'),
      requiresPython: '>=3.8',
      metadata: { sha256: H('2') },
    });
    assert.deepEqual([links[1]?.yanked, links[1]?.metadata], ['', {}]);
    assert.deepEqual([links[2]?.yanked, links[2]?.metadata], ['security issue', undefined]);
    assert.deepEqual(links[3]?.metadata, {});
    assert.deepEqual(links[4]?.metadata, { sha256: H('f') });
    assert.equal(links[3]?.yanked, undefined);
  });
});

describe('listCandidates over a local simple index: the same fields from HTML and JSON pages', () => {
  let dir = '';
  const indexes: SimpleIndex[] = [];
  const w10 = 'demo-1.0-py3-none-any.whl';
  const w20 = 'demo-2.0-py3-none-any.whl';
  const sd = 'demo-2.0.tar.gz';

  before(async () => {
    dir = await tempDir();
    const wheels = join(dir, 'wheels');
    await mkdir(wheels);
    makeWheel(wheels, { name: 'demo', version: '1.0', files: [{ name: 'demo/__init__.py', data: '' }], metadata: ['Requires-Dist: six'] });
    makeWheel(wheels, { name: 'demo', version: '2.0', files: [{ name: 'demo/__init__.py', data: '' }] });
    await writeFile(join(wheels, sd), 'not really an sdist');
    const opts = { yanked: { [w10]: 'bad build <x>' }, requiresPython: { [w20]: '>=3.9,<4', [sd]: '>=3.9' } };
    indexes.push(
      await startSimpleIndex([wheels], { ...opts, json: false }),
      await startSimpleIndex([wheels], opts),
      await startSimpleIndex([wheels], { ...opts, metadata: false, hashes: false }),
    );
  });
  after(async () => {
    for (const i of indexes) await i.close();
    await cleanup(dir);
  });

  it('HTML (PEP 503) and JSON (PEP 691) pages agree', async () => {
    const [html, json] = indexes as [SimpleIndex, SimpleIndex];
    const seen: Record<string, unknown>[] = [];
    for (const idx of [html, json]) {
      const cands = await listCandidates('demo', { findLinks: [], indexUrl: idx.url, noIndex: false, projectDir: dir });
      assert.deepEqual(cands.map((c) => c.filename).sort(), [w10, w20, sd]);
      const byName = new Map(cands.map((c) => [c.filename, c]));
      const a = byName.get(w10);
      const b = byName.get(w20);
      const s = byName.get(sd);
      assert.equal(a?.yanked, 'bad build <x>');
      assert.equal(a?.requiresPython, undefined);
      assert.match(a?.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.match(a?.metadata?.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(b?.yanked, undefined);
      assert.equal(b?.requiresPython, '>=3.9,<4');
      assert.equal(s?.requiresPython, '>=3.9');
      assert.equal(s?.metadata, undefined, 'no metadata file for an sdist');
      assert.ok(a?.url?.endsWith(`/files/${w10}`));
      // What differs by server: the port in URLs, the origin, and `size` (PEP 700, JSON only).
      seen.push(
        Object.fromEntries(
          cands.map((c) => [c.filename, { ...c, url: new URL(c.url ?? '').pathname, authFrom: undefined, origin: undefined, size: undefined }]),
        ),
      );
    }
    assert.deepEqual(seen[0], seen[1]);
    assert.ok(html.requests.some((r) => r.path === '/simple/demo/'));
    assert.ok(json.requests.some((r) => r.path === '/simple/demo/'));
  });

  it('without hashes or metadata, links say neither', async () => {
    const idx = indexes[2] as SimpleIndex;
    const cands = await listCandidates('Demo', { findLinks: [], indexUrl: idx.url, noIndex: false, projectDir: dir });
    const a = cands.find((c) => c.filename === w10);
    assert.equal(a?.sha256, undefined);
    assert.equal(a?.metadata, undefined);
    assert.equal(a?.yanked, 'bad build <x>');
  });

  it('the index serves the root page, redirects non-normalized names, and 404s unknown projects', async () => {
    const idx = indexes[1] as SimpleIndex;
    const root = await fetch(`${idx.url}/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    assert.deepEqual(((await root.json()) as { projects: { name: string }[] }).projects, [{ name: 'demo' }]);
    const html = await (await fetch(`${idx.url}/`)).text();
    assert.match(html, /<a href="demo\/">demo<\/a>/);
    const redirected = await fetch(`${idx.url}/DEMO`, { redirect: 'manual' });
    assert.equal(redirected.status, 301);
    assert.equal(redirected.headers.get('location'), '/simple/demo/');
    assert.equal((await fetch(`${idx.url}/nothing/`)).status, 404);
  });
});
