import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { sha256 } from '../../../src/oci/digest.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { testClient } from './fixture.js';

// Distribution spec, "Pushing a blob in chunks": PATCH with an inclusive Content-Range, each to the
// newest Location (the fake's `_state` changes with every chunk, as distribution's does), chunks
// no smaller than OCI-Chunk-Min-Length, and a 416 answered by asking where the upload stands.
describe('chunked uploads', () => {
  it('honours OCI-Chunk-Min-Length, sends inclusive Content-Range, follows the newest Location', async () => {
    const reg = await FakeRegistry.start();
    const t = await testClient({ options: { chunkBytes: { [reg.host]: 1000 } } });
    try {
      reg.chunkMinLength = 2000;
      const bytes = Buffer.alloc(4500, 1);
      await t.client.uploadBlob(reg.host, 'demo/min', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
      const patches = reg.requests('PATCH');
      assert.deepEqual(
        patches.map((r) => r.contentRange),
        ['0-1999', '2000-3999', '4000-4499'],
      );
      assert.deepEqual(
        patches.map((r) => r.status),
        [202, 202, 202],
        'each went to the newest Location (a stale _state gets 400)',
      );
      const states = patches.map((r) => new URLSearchParams(r.query).get('_state'));
      assert.equal(new Set(states).size, 3);
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });

  it('resumes after a 416 from where the upload stands (GET on its Location)', async () => {
    const reg = await FakeRegistry.start();
    const t = await testClient({ options: { chunkBytes: { [reg.host]: 1000 } } });
    try {
      const bytes = Buffer.from(Array.from({ length: 3500 }, (_, i) => i % 251));
      reg.fail('PATCH', /\/blobs\/uploads\//, 416, 1);
      await t.client.uploadBlob(reg.host, 'demo/resume', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
      const flow = reg.log.filter((r) => r.path.includes('/blobs/uploads/')).map((r) => `${r.method} ${r.status}${r.contentRange ? ` ${r.contentRange}` : ''}`);
      assert.deepEqual(flow, [
        'POST 202',
        'PATCH 416 0-999',
        'GET 204',
        'PATCH 202 0-999',
        'PATCH 202 1000-1999',
        'PATCH 202 2000-2999',
        'PATCH 202 3000-3499',
        'PUT 201',
      ]);
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });
});
