import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { sha256 } from '../../../src/oci/digest.js';
import { tokenExpiry } from '../../../src/registry/auth.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { DEFAULT_RETRY, RetryBudget, isTemporary, parseRetryAfter } from '../../../src/registry/retry.js';
import { rangeEnd } from '../../../src/registry/upload.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { FakeClock } from './fake-clock.js';
import { testClient } from './fixture.js';

describe('retry policy', () => {
  it('reads Retry-After as seconds or an HTTP-date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun, 31 Dec 2023 00:00:05 GMT', now), 0, 'a past date means now');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
  it('waits what Retry-After says (within the budget), else capped exponential backoff with jitter', () => {
    const err = new RegistryError('x', 429, []);
    err.retryAfterMs = 20_000;
    assert.equal(new RetryBudget(DEFAULT_RETRY, new FakeClock()).next(err), 20_000, 'longer than the backoff cap, inside the budget');
    err.retryAfterMs = 3_600_000;
    assert.equal(new RetryBudget(DEFAULT_RETRY, new FakeClock()).next(err), undefined, 'longer than the budget: give up now');
    const plain = new RegistryError('x', 503, []);
    assert.equal(new RetryBudget(DEFAULT_RETRY, new FakeClock(), () => 1).next(plain), 1000);
    assert.equal(new RetryBudget(DEFAULT_RETRY, new FakeClock(), () => 0).next(plain), 500);
  });
  it('retries 408, 429 and 5xx, never final error codes', () => {
    for (const s of [408, 429, 500, 502, 503]) assert.ok(isTemporary(new RegistryError('x', s, [])), String(s));
    for (const s of [400, 401, 403, 404, 416]) assert.ok(!isTemporary(new RegistryError('x', s, [])), String(s));
    for (const code of ['DIGEST_INVALID', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'NAME_UNKNOWN']) {
      assert.ok(!isTemporary(new RegistryError('x', 500, [{ code, message: '' }])), code);
    }
  });
  it('keeps tokens until issued_at + expires_in, less a margin, and ignores a skewed issued_at', () => {
    const now = Date.parse('2024-01-01T00:01:00Z');
    assert.equal(tokenExpiry({ expiresIn: 300, issuedAt: '2024-01-01T00:00:00Z' }, now), Date.parse('2024-01-01T00:05:00Z') - 10_000);
    assert.equal(tokenExpiry({}, now), now + 60_000 - 10_000, '60 s when expires_in is absent');
    assert.equal(tokenExpiry({ expiresIn: 300, issuedAt: '2030-01-01T00:00:00Z' }, now), now + 290_000);
  });
  it('reads an upload Range', () => {
    assert.equal(rangeEnd('0-1023'), 1023);
    assert.equal(rangeEnd('bytes=0-99'), 99);
    assert.equal(rangeEnd('0-0'), undefined);
    assert.equal(rangeEnd(undefined), undefined);
  });
});

describe('uploads', () => {
  it('uploads in chunks with inclusive Content-Range when the registry has a chunk limit', async () => {
    const reg = await FakeRegistry.start();
    const { client, cleanup } = await testClient({ options: { chunkBytes: {} } });
    const chunked = await testClient({ options: { chunkBytes: { [reg.host]: 1000 } } });
    try {
      const bytes = Buffer.alloc(2500, 9);
      const d = sha256(bytes);
      let progress = 0;
      await chunked.client.uploadBlob(reg.host, 'demo/chunks', d, bytes.length, async () => Readable.from([bytes]), {
        onProgress: (n) => {
          progress = n;
        },
      });
      assert.deepEqual(reg.blobs.get(d), bytes);
      assert.equal(reg.requests('PATCH').length, 3);
      assert.equal(progress, 2500);
      // Without a limit: one PUT.
      const small = Buffer.from('one piece');
      await client.uploadBlob(reg.host, 'demo/chunks', sha256(small), small.length, async () => Readable.from([small]));
      assert.equal(reg.requests('PATCH').length, 3);
    } finally {
      await cleanup();
      await chunked.cleanup();
      await reg.close();
    }
  });

  it('after a failed commit, asks the session where it stands and goes on in it', async () => {
    const reg = await FakeRegistry.start();
    const { client, cleanup } = await testClient();
    try {
      const bytes = Buffer.from('committed');
      reg.fail('PUT', /\/blobs\/uploads\//, 503, 1);
      await client.uploadBlob(reg.host, 'demo/ambiguous', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      // The session still answers: the commit did not land, so no HEAD and no second POST.
      const flow = reg.log.filter((r) => r.path.includes('/demo/ambiguous/')).map((r) => `${r.method} ${r.status}`);
      assert.deepEqual(flow, ['POST 202', 'PUT 503', 'GET 204', 'PUT 201']);
      assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
    } finally {
      await cleanup();
      await reg.close();
    }
  });
});
