import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import type { CoreMetadata } from '../../../src/python/core-metadata.js';
import { findDistInfo, MetadataFetcher, readWheelMetadata } from '../../../src/python/metadata-fetch.js';
import { listCandidates, type Candidate } from '../../../src/python/sources.js';
import { Cache } from '../../../src/store/cache.js';
import { startSimpleIndex, type SimpleIndex } from '../../support/simple-index.js';
import { cleanup, makeWheel, tempDir, writeZip } from './helpers.js';

const sha = async (p: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

/**
 * A wheel whose zip is zip64 throughout (Python's zipfile with its limits lowered: zip64 extra
 * fields in local and central headers, the zip64 end record and locator), with the classic end
 * record's fields set to their "see zip64" values as a > 4 GiB archive has them.
 */
function writeZip64Wheel(
  dir: string,
  name: string,
  version: string,
  extra: { name: string; data: Buffer }[],
  metadata: string,
): { path: string; filename: string } {
  const filename = `${name}-${version}-py3-none-any.whl`;
  const path = join(dir, filename);
  const di = `${name}-${version}.dist-info`;
  const members = [
    ...extra,
    { name: `${di}/METADATA`, data: Buffer.from(metadata) },
    { name: `${di}/WHEEL`, data: Buffer.from('Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n') },
    { name: `${di}/RECORD`, data: Buffer.from('') },
  ];
  const py = [
    'import sys, json, base64, zipfile',
    'zipfile.ZIP64_LIMIT = 0',
    'zipfile.ZIP_FILECOUNT_LIMIT = 0',
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
    '    for m in json.load(sys.stdin):',
    '        zi = zipfile.ZipInfo(m["name"], (2020, 1, 1, 0, 0, 0))',
    '        with z.open(zi, "w", force_zip64=True) as f: f.write(base64.b64decode(m["data"]))',
  ].join('\n');
  execFileSync('python3', ['-c', py, path], { input: JSON.stringify(members.map((m) => ({ name: m.name, data: m.data.toString('base64') }))) });
  return { path, filename };
}

async function forceZip64EndRecord(path: string): Promise<void> {
  const b = await readFile(path);
  const at = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(at > 0 && b.readUInt32LE(at - 20) === 0x07064b50, 'zip64 locator before the end record');
  b.writeUInt16LE(0xffff, at + 8);
  b.writeUInt16LE(0xffff, at + 10);
  b.writeUInt32LE(0xffffffff, at + 12);
  b.writeUInt32LE(0xffffffff, at + 16);
  await writeFile(path, b);
}

/** Bytes a Range header asks for, against a file of `size` bytes. */
function rangeLength(range: string, size: number): number {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range);
  assert.ok(m, range);
  if (m[1] === '') return Math.min(size, Number(m[2]));
  return (m[2] === '' ? size - 1 : Number(m[2])) - Number(m[1]) + 1;
}

describe('MetadataFetcher', () => {
  let dir = '';
  let wheels = '';
  const files: Record<string, { path: string; filename: string; sha256: string; size: number }> = {};
  const servers: SimpleIndex[] = [];

  const alphaMeta = ['Requires-Python: >=3.8', 'Requires-Dist: six>=1.0', 'Requires-Dist: idna; extra == "net"', 'Provides-Extra: net'];

  before(async () => {
    dir = await tempDir();
    wheels = join(dir, 'wheels');
    await mkdir(wheels);
    const add = async (w: { path: string; filename: string }, key: string): Promise<void> => {
      files[key] = { ...w, sha256: await sha(w.path), size: (await stat(w.path)).size };
    };
    await add(makeWheel(wheels, { name: 'alpha', version: '1.0', files: [{ name: 'alpha/__init__.py', data: 'A = 1\n' }], metadata: alphaMeta }), 'alpha');
    // 2 MB that do not compress: a Range read that fetched it would show.
    await add(
      makeWheel(wheels, {
        name: 'padded',
        version: '1.0',
        files: [{ name: 'padded/blob.bin', data: randomBytes(2 * 1024 * 1024) }],
        metadata: ['Requires-Dist: alpha'],
      }),
      'padded',
    );
    // A central directory longer than the first tail read: a second read reaches back for it.
    const many = Array.from({ length: 3000 }, (_, i) => ({ name: `many/module_number_${i}.py`, data: randomBytes(200) }));
    await add(makeWheel(wheels, { name: 'many', version: '2.0', files: many, metadata: ['Requires-Dist: padded ; python_version >= "3.8"'] }), 'many');
    const z = writeZip64Wheel(
      wheels,
      'zsixtyfour',
      '1.0',
      [{ name: 'zsixtyfour/blob.bin', data: randomBytes(2 * 1024 * 1024) }],
      'Metadata-Version: 2.1\nName: zsixtyfour\nVersion: 1.0\nRequires-Dist: alpha==1.0\n',
    );
    await forceZip64EndRecord(z.path);
    execFileSync('python3', [
      '-c',
      'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(z.read("zsixtyfour-1.0.dist-info/METADATA").decode())',
      z.path,
    ]);
    await add(z, 'zip64');
  });
  after(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await cleanup(dir);
  });

  const start = async (opts: Parameters<typeof startSimpleIndex>[1] = {}): Promise<SimpleIndex> => {
    const s = await startSimpleIndex([wheels], opts);
    servers.push(s);
    return s;
  };
  const candidate = async (idx: SimpleIndex, project: string, filename: string): Promise<Candidate> => {
    const cands = await listCandidates(project, { findLinks: [], indexUrl: idx.url, noIndex: false, projectDir: dir });
    const c = cands.find((x) => x.filename === filename);
    assert.ok(c, `${filename} listed`);
    return c;
  };
  const fetcher = (cache: string, log: ShaleEvent[] = []): MetadataFetcher => new MetadataFetcher(Cache.open(cache), (e) => log.push(e));
  const cachedWheelPath = (cache: string, sha256: string, filename: string): string => Cache.open(cache).wheels.path(sha256, filename);
  const fileRequests = (idx: SimpleIndex, filename: string) => idx.requests.filter((r) => r.path === `/files/${filename}`);
  const debug = (log: ShaleEvent[]): string => log.map((e) => (e.type === 'log' ? e.message : '')).join('\n');

  it('PEP 658: reads <url>.metadata, verifies it, caches it; the wheel file is never requested', async () => {
    const idx = await start();
    const a = files.alpha!;
    const c = await candidate(idx, 'alpha', a.filename);
    assert.ok(c.metadata?.sha256);
    const cache = join(dir, 'c-658');
    const log: ShaleEvent[] = [];
    const md = await fetcher(cache, log).get(c);
    assert.deepEqual(md, {
      name: 'alpha',
      version: '1.0',
      requiresDist: ['six>=1.0', 'idna; extra == "net"'],
      requiresPython: '>=3.8',
      providesExtra: ['net'],
    });
    assert.equal(fileRequests(idx, a.filename).length, 0, 'no request for the wheel');
    assert.equal(fileRequests(idx, `${a.filename}.metadata`).length, 1);
    assert.match(debug(log), /PEP 658/);
    const rec = JSON.parse(await readFile(join(cache, 'metadata', `${a.sha256}.json`), 'utf8')) as { wheel: string };
    assert.equal(rec.wheel, a.sha256);
  });

  it('concurrent requests for one file share one read', async () => {
    const idx = await start();
    const a = files.alpha!;
    const c = await candidate(idx, 'alpha', a.filename);
    const f = fetcher(join(dir, 'c-dedupe'));
    const all = await Promise.all(Array.from({ length: 8 }, () => f.get({ ...c })));
    assert.ok(all.every((m) => m.version === '1.0'));
    assert.equal(fileRequests(idx, `${a.filename}.metadata`).length, 1);
  });

  it('the cache answers a second fetcher with the index gone; a damaged record is healed', async () => {
    const idx = await start();
    const a = files.alpha!;
    const c = await candidate(idx, 'alpha', a.filename);
    const cache = join(dir, 'c-cache');
    await fetcher(cache).get(c);
    await idx.close();
    const log: ShaleEvent[] = [];
    assert.equal((await fetcher(cache, log).get(c)).requiresPython, '>=3.8');
    assert.match(debug(log), /from the metadata cache/);

    const idx2 = await start();
    const c2 = await candidate(idx2, 'alpha', a.filename);
    const recPath = join(cache, 'metadata', `${a.sha256}.json`);
    for (const damage of [(t: string) => t.slice(0, t.length / 2), (t: string) => t.replace('six>=1.0', 'six>=9.9')]) {
      await writeFile(recPath, damage(await readFile(recPath, 'utf8')));
      const before = idx2.requests.length;
      const log2: ShaleEvent[] = [];
      const md = await fetcher(cache, log2).get(c2);
      assert.deepEqual(md.requiresDist, ['six>=1.0', 'idna; extra == "net"']);
      assert.match(debug(log2), /damaged; removed/);
      assert.ok(idx2.requests.length > before, 'read again from the index');
      assert.match(await readFile(recPath, 'utf8'), /six>=1\.0/);
    }
  });

  it('a .metadata file whose hash does not match is an error naming its URL (credentials redacted)', async () => {
    const idx = await start({ auth: { user: 'me', password: 's3cret' } });
    const a = files.alpha!;
    const authed = idx.url.replace('http://', 'http://me:s3cret@');
    const cands = await listCandidates('alpha', { findLinks: [], indexUrl: authed, noIndex: false, projectDir: dir });
    const c = cands.find((x) => x.filename === a.filename)!;
    assert.ok(c.metadata);
    // With the right hash and credentials it works.
    assert.equal((await fetcher(join(dir, 'c-auth')).get(c)).name, 'alpha');
    await assert.rejects(
      fetcher(join(dir, 'c-bad-hash')).get({ ...c, sha256: 'e'.repeat(64), metadata: { sha256: '0'.repeat(64) } }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_HASH_MISMATCH');
        assert.ok(e.message.includes(`/files/${a.filename}.metadata`), e.message);
        assert.ok(e.message.includes('0'.repeat(64)), e.message);
        assert.ok(!e.message.includes('s3cret'), e.message);
        return true;
      },
    );
  });

  it('Range reads: the central directory from the tail, then the member; never the 2 MB body', async () => {
    const idx = await start({ metadata: false });
    for (const [key, project, requires] of [
      ['padded', 'padded', ['alpha']],
      ['many', 'many', ['padded ; python_version >= "3.8"']],
      ['zip64', 'zsixtyfour', ['alpha==1.0']],
    ] as const) {
      const w = files[key]!;
      const c = await candidate(idx, project, w.filename);
      assert.equal(c.metadata, undefined);
      const log: ShaleEvent[] = [];
      const cache = join(dir, `c-range-${key}`);
      const md = await fetcher(cache, log).get(c);
      assert.deepEqual(md.requiresDist, requires);
      const reqs = fileRequests(idx, w.filename);
      assert.ok(reqs.length >= 1 && reqs.length <= 3, `${key}: ${JSON.stringify(reqs)}`);
      let total = 0;
      for (const r of reqs) {
        assert.ok(r.range, `${key}: every request is a Range request`);
        const n = rangeLength(r.range, w.size);
        assert.ok(n < w.size / 8, `${key}: ${r.range} of ${w.size}`);
        total += n;
      }
      assert.ok(total < w.size / 4, `${key}: ${total} of ${w.size} bytes`);
      assert.match(debug(log), /Range reads/);
      if (key === 'many') assert.equal(reqs.length, 3, 'tail, rest of the directory, member');
      // Not downloaded: the install fetches the wheel itself.
      await assert.rejects(stat(cachedWheelPath(cache, w.sha256, w.filename)));
      // Cached for next time.
      await stat(join(cache, 'metadata', `${w.sha256}.json`));
    }
  });

  it('a wheel smaller than the tail read arrives whole and is kept in the wheel cache', async () => {
    const idx = await start({ metadata: false });
    const a = files.alpha!;
    const c = await candidate(idx, 'alpha', a.filename);
    const cache = join(dir, 'c-small');
    assert.equal((await fetcher(cache).get(c)).name, 'alpha');
    assert.equal(fileRequests(idx, a.filename).length, 1);
    assert.equal(await sha(cachedWheelPath(cache, a.sha256, a.filename)), a.sha256);
  });

  it('a server that ignores Range: the whole wheel goes into the wheel cache, and metadata is read from it', async () => {
    const idx = await start({ metadata: false, range: false });
    for (const key of ['alpha', 'padded'] as const) {
      const w = files[key]!;
      const c = await candidate(idx, key, w.filename);
      const cache = join(dir, `c-norange-${key}`);
      const log: ShaleEvent[] = [];
      const md = await fetcher(cache, log).get(c);
      assert.equal(md.name, key);
      assert.equal(await sha(cachedWheelPath(cache, w.sha256, w.filename)), w.sha256);
      assert.match(debug(log), /downloaded the whole wheel/);
      const reqs = fileRequests(idx, w.filename);
      assert.equal(reqs.length, 2, 'the refused Range request, then the download');
      // A later fetcher finds it in the wheel cache, even without the metadata cache.
      await writeFile(join(cache, 'metadata', `${w.sha256}.json`), 'x');
      const log2: ShaleEvent[] = [];
      assert.equal((await fetcher(cache, log2).get(c)).name, key);
      assert.equal(fileRequests(idx, w.filename).length, 2);
      assert.match(debug(log2), /wheel cache/);
    }
  });

  it('a download whose hash contradicts the link is refused and not cached', async () => {
    const idx = await start({ metadata: false, range: false });
    const w = files.padded!;
    const c = await candidate(idx, 'padded', w.filename);
    const cache = join(dir, 'c-mismatch');
    await assert.rejects(fetcher(cache).get({ ...c, sha256: 'a'.repeat(64) }), { code: 'SHALE_HASH_MISMATCH' });
    await assert.rejects(stat(cachedWheelPath(cache, w.sha256, w.filename)));
  });

  it('local wheels: read in place, zip64 too', async () => {
    for (const key of ['alpha', 'padded', 'many', 'zip64'] as const) {
      const w = files[key]!;
      const log: ShaleEvent[] = [];
      const md = await fetcher(join(dir, 'c-local'), log).get({ filename: w.filename, path: w.path, origin: 'find-links wheels' });
      assert.equal(md.version, key === 'many' ? '2.0' : '1.0');
      assert.match(debug(log), /local wheel/);
      assert.deepEqual(await readWheelMetadata(w.path, w.filename), md);
    }
  });

  it('a local wheel unchanged since the last run: its metadata from the cache, the zip not opened; a rewritten one is read again', async () => {
    const d = join(dir, 'local-again');
    await mkdir(d, { recursive: true });
    const filename = 'again-1.0-py3-none-any.whl';
    const path = join(d, filename);
    writeZip(path, [{ name: 'again-1.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: again\nVersion: 1.0\nRequires-Dist: six\n' }]);
    const cacheDir = join(dir, 'c-local-again');
    const run = async (): Promise<{ md: CoreMetadata; log: string }> => {
      const log: ShaleEvent[] = [];
      const cache = Cache.open(cacheDir);
      const md = await new MetadataFetcher(cache, (e) => log.push(e)).get({ filename, path, origin: 'find-links wheels' });
      await cache.save();
      return { md, log: debug(log) };
    };
    const first = await run();
    assert.match(first.log, /read from the local wheel/);
    const second = await run();
    assert.deepEqual(second.md, first.md);
    assert.match(second.log, /from the metadata cache \(the local wheel .*, unchanged\)/);
    writeZip(path, [{ name: 'again-1.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: again\nVersion: 1.0\nRequires-Dist: idna\n' }]);
    const third = await run();
    assert.match(third.log, /read from the local wheel/);
    assert.deepEqual(third.md.requiresDist, ['idna'], "never the old file's metadata");
  });

  it('the .dist-info directory is the one named for the wheel’s distribution', async () => {
    const d = join(dir, 'odd');
    await mkdir(d, { recursive: true });
    const filename = 'Foo_Bar-1.0-py3-none-any.whl';
    writeZip(join(d, filename), [
      { name: 'vendored-2.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: vendored\nVersion: 2.0\n' },
      { name: 'foo.bar-1.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\nRequires-Dist: x\n' },
    ]);
    const md = await readWheelMetadata(join(d, filename), filename);
    assert.deepEqual([md.name, md.requiresDist], ['Foo.Bar', ['x']]);
    assert.equal(findDistInfo(['a-1.dist-info/METADATA', 'a-2.dist-info/METADATA'], 'a-2-py3-none-any.whl'), 'a-2.dist-info');
    assert.equal(findDistInfo(['b-1.dist-info/METADATA'], 'a-1-py3-none-any.whl'), undefined);

    const none = 'nometa-1.0-py3-none-any.whl';
    writeZip(join(d, none), [{ name: 'nometa-1.0.dist-info/WHEEL', data: 'Wheel-Version: 1.0\n' }]);
    await assert.rejects(
      readWheelMetadata(join(d, none), none),
      (e: Error & { code?: string }) => e.code === 'SHALE_BAD_WHEEL' && /has no nometa-1\.0\.dist-info\/METADATA/.test(e.message),
    );

    const broken = 'broken-1.0-py3-none-any.whl';
    writeZip(join(d, broken), [{ name: 'broken-1.0.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: broken\n' }]);
    await assert.rejects(
      readWheelMetadata(join(d, broken), broken),
      (e: Error & { code?: string }) => e.code === 'SHALE_BAD_METADATA' && e.message.includes(broken),
    );

    await writeFile(join(d, 'junk-1.0-py3-none-any.whl'), 'not a zip');
    await assert.rejects(readWheelMetadata(join(d, 'junk-1.0-py3-none-any.whl'), 'junk-1.0-py3-none-any.whl'), { code: 'SHALE_BAD_WHEEL' });
  });
});
