import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import { sha256 } from '../../../src/oci/digest.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { authEntry, testClient } from './fixture.js';

// A Bearer token can expire or be revoked during a long push; the registry then answers 401 with a
// fresh WWW-Authenticate. The client fetches one new token and re-sends the request; a second 401
// for the same request is an answer (the token service keeps handing out tokens that do not work).
describe('re-authentication mid-push', () => {
  const setup = async (chunkBytes?: number): Promise<{ reg: FakeRegistry; t: Awaited<ReturnType<typeof testClient>> }> => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: { alice: 's3cret' } });
    const t = await testClient({ auths: { [reg.host]: authEntry('alice', 's3cret') }, options: chunkBytes ? { chunkBytes: { [reg.host]: chunkBytes } } : {} });
    return { reg, t };
  };

  it('a token that expires between POST and PUT: one new token, the PUT is re-sent, the blob lands', async () => {
    const { reg, t } = await setup();
    try {
      const bytes = Buffer.from('layer pushed while the token expires');
      reg.tokenLifetime = 1;
      const sent = await t.client.uploadBlob(reg.host, 'demo/app', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      // Bytes sent count resent ones: a body this small goes without 100-continue, so twice.
      assert.equal(sent, 2 * bytes.length);
      assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
      assert.deepEqual(
        reg.log.filter((r) => r.path.startsWith('/v2/demo/')).map((r) => `${r.method} ${r.status}`),
        ['POST 202', 'PUT 401', 'PUT 201'],
      );
      assert.equal(reg.tokenRequests.length, 2, 'one token, then one more after the 401');
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });

  it('chunked uploads continue across several expiries, each answered by one new token', async () => {
    const { reg, t } = await setup(1000);
    try {
      const bytes = Buffer.alloc(4500, 3);
      reg.tokenLifetime = 2;
      await t.client.uploadBlob(reg.host, 'demo/app', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
      const statuses = reg.log.filter((r) => r.path.startsWith('/v2/demo/')).map((r) => r.status);
      const rejected = statuses.filter((s) => s === 401).length;
      assert.ok(rejected >= 2, `expired more than once (${statuses.join(' ')})`);
      assert.equal(reg.tokenRequests.length, 1 + rejected);
      assert.equal(reg.requests('PATCH').filter((r) => r.status === 202).length, 5, 'no chunk sent twice once accepted');
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });

  it('a second 401 for the same request is an error (denied, not retried), and the session is DELETEd', async () => {
    const { reg, t } = await setup();
    try {
      const bytes = Buffer.from('refused twice');
      reg.fail('PUT', /^\/v2\/demo\/app\/blobs\/uploads\//, 401, 2);
      await assert.rejects(
        t.client.uploadBlob(reg.host, 'demo/app', sha256(bytes), bytes.length, async () => Readable.from([bytes])),
        (err: unknown) => {
          assert.ok(err instanceof ShaleError);
          assert.equal(err.code, 'SHALE_REGISTRY_DENIED');
          assert.match(err.message, /denied user 'alice' \(from .*config\.json.*\) access to demo\/app:pull,push/);
          assert.ok(!err.message.includes('s3cret'));
          return true;
        },
      );
      assert.equal(reg.requests('PUT').length, 2, 'sent twice, then gave up');
      assert.equal(reg.requests('POST', /\/blobs\/uploads\/$/).length, 1, 'no retry of the whole upload');
      assert.equal(reg.requests('DELETE', /\/blobs\/uploads\//).length, 1);
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });
});
