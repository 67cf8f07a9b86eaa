import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../../src/oci/types.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { authEntry, readAll, testClient } from './fixture.js';

// Registries send blob GETs to storage (S3, a CDN) with a redirect. Credentials for the registry
// must not follow to another origin (a signed URL needs none, and another host must not see them);
// a redirect within the registry's own origin keeps them.
describe('blob redirects', () => {
  it('drops Authorization on a 307 to another host and keeps it on the same host', async () => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: { alice: 's3cret' } });
    const cdn = await FakeRegistry.start();
    const t = await testClient({ auths: { [reg.host]: authEntry('alice', 's3cret') } });
    try {
      const bytes = Buffer.alloc(50_000, 5);
      const d = reg.putBlob('demo/app', bytes) as Digest;
      cdn.putBlob('storage', bytes);

      reg.redirectBlobs = `http://${cdn.host}`;
      assert.deepEqual(await readAll(await t.client.getBlob(reg.host, 'demo/app', d, bytes.length)), bytes);
      assert.deepEqual(await t.client.getBlobBytes(reg.host, 'demo/app', d), bytes);
      const redirected = reg.requests('GET', /\/blobs\/sha256:/);
      assert.deepEqual(
        redirected.map((r) => r.status),
        [307, 307],
      );
      assert.match(redirected[0]?.authorization ?? '', /^Bearer /, 'the registry itself got the token');
      const atCdn = cdn.requests('GET', /^\/blobstore\//);
      assert.equal(atCdn.length, 2);
      assert.deepEqual(
        atCdn.map((r) => r.authorization),
        [undefined, undefined],
        'no Authorization to another host',
      );

      reg.redirectBlobs = `http://${reg.host}`;
      assert.deepEqual(await readAll(await t.client.getBlob(reg.host, 'demo/app', d)), bytes);
      const same = reg.requests('GET', /^\/blobstore\//);
      assert.equal(same.length, 1);
      assert.equal(same[0]?.authorization, redirected[0]?.authorization, 'the same origin keeps it');
    } finally {
      await t.cleanup();
      await reg.close();
      await cdn.close();
    }
  });
});
