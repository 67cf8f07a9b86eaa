// The archive as shale reads it, over real HTTP from a repository made here: a signed
// InRelease, a Packages.gz it vouches for, and .debs the index vouches for. A changed byte
// anywhere is refused; what was checked is kept in the cache and re-checked when read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fetchPackages, fetchRelease, fetchVerified } from '../../../src/debian/archive.js';
import { readDeb } from '../../../src/debian/deb.js';
import { readKeyrings } from '../../../src/debian/signature.js';
import { PackageHttp } from '../../../src/python/http.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { cleanup, tempDir } from '../python/helpers.js';
import { inRelease, makeDeb, packagesEntry, testKey, serveArchive } from './fixtures.js';

const files = new Map<string, Buffer>();
let server: Awaited<ReturnType<typeof serveArchive>>;
let uri: string;
let dir: string;
const http = new PackageHttp({ retry: { budgetMs: 0 } });

before(async () => {
  dir = await tempDir('shale-deb-');
  server = await serveArchive(files);
  uri = server.uri;
});
after(async () => {
  await server.close();
  await http.close();
  await cleanup(dir);
});

describe('a signed archive', () => {
  it('fetches, verifies and caches InRelease → Packages → .deb; refuses every changed byte', async () => {
    const key = await testKey();
    const keys = await readKeyrings([{ name: 'test.gpg', bytes: key.keyring }]);
    const deb = await makeDeb({ name: 'hello', version: '1.0-1', files: [{ header: { name: './usr/bin/hello', mode: 0o755 }, data: '#!/bin/sh\necho hi\n' }] });
    const filename = 'pool/main/h/hello/hello_1.0-1_amd64.deb';
    const packages = gzipSync(Buffer.from(packagesEntry(deb.control, filename, deb.bytes)));
    files.set(`/debian/${filename}`, deb.bytes);
    files.set('/debian/dists/stable/main/binary-amd64/Packages.gz', packages);
    files.set('/debian/dists/stable/InRelease', Buffer.from(await inRelease('stable', { 'main/binary-amd64/Packages.gz': packages }, key.priv)));
    const store = new FsBlobStore(dir);

    const release = await fetchRelease(http, uri, 'stable', keys);
    const text = (await fetchPackages(http, store, uri, 'stable', release, 'main', 'amd64'))?.toString('utf8');
    assert.match(text ?? '', /^Package: hello$/m);
    assert.equal(await fetchPackages(http, store, uri, 'stable', release, 'main', 'arm64'), undefined, 'no index for arm64 in this Release');
    const sha = /SHA256: (\w+)/.exec(text!)![1]!;
    const got = await fetchVerified(http, store, `${uri}/${filename}`, sha, deb.bytes.length, 'hello 1.0-1');
    assert.deepEqual(
      (await readDeb(got, 'hello')).data.map((e) => e.path),
      ['usr/bin/hello'],
    );

    // From the cache now: the server's copy is not asked for.
    files.delete(`/debian/${filename}`);
    assert.deepEqual(await fetchVerified(http, store, `${uri}/${filename}`, sha, deb.bytes.length, 'hello 1.0-1'), deb.bytes);

    // Tampered: the InRelease, the index, the .deb.
    const signed = files.get('/debian/dists/stable/InRelease')!.toString();
    files.set('/debian/dists/stable/InRelease', Buffer.from(signed.replace('Suite: stable', 'Suite: stablE')));
    await assert.rejects(fetchRelease(http, uri, 'stable', keys), (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.code, 'SHALE_DEBIAN_INTEGRITY');
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /InRelease failed its signature check/);
      return true;
    });
    const other = await testKey();
    await assert.rejects(fetchRelease(http, uri, 'stable', await readKeyrings([{ name: 'other', bytes: other.keyring }])), /signature check/);
    const fresh = new FsBlobStore(`${dir}/fresh`);
    files.set(
      '/debian/dists/stable/main/binary-amd64/Packages.gz',
      gzipSync(Buffer.from(packagesEntry(deb.control, filename, deb.bytes) + '\nPackage: evil\nVersion: 1\n')),
    );
    await assert.rejects(
      fetchPackages(http, fresh, uri, 'stable', release, 'main', 'amd64'),
      /main\/binary-amd64\/Packages\.gz from .* does not match the signed index/,
    );
    const bad = Buffer.from(deb.bytes);
    bad[bad.length - 5] = bad.at(-5)! ^ 1;
    files.set(`/debian/${filename}`, bad);
    await assert.rejects(
      fetchVerified(http, fresh, `${uri}/${filename}`, sha, deb.bytes.length, 'hello 1.0-1'),
      /hello 1\.0-1 from .* does not match the signed index/,
    );
    assert.equal(await fresh.has(`sha256:${sha}`), false, 'nothing refused is kept');
  });
});
