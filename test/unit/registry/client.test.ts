import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InputError, ShaleError } from '../../../src/errors.js';
import { sha256 } from '../../../src/oci/digest.js';
import { MediaType, type Digest } from '../../../src/oci/types.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { readAll, testClient } from './fixture.js';

describe('RegistryClient against an open registry', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  let cleanup: () => Promise<void>;
  before(async () => {
    reg = await FakeRegistry.start();
    ({ client, cleanup } = await testClient());
  });
  after(async () => {
    await cleanup();
    await reg.close();
  });

  it('pings a loopback registry over plain HTTP and sees no challenge', async () => {
    assert.deepEqual(await client.ping(reg.host), { scheme: 'none' });
  });

  it('gets a manifest by tag and by digest, with media type and digest', async () => {
    const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}');
    const d = reg.putManifest('library/python', bytes, MediaType.OciManifest, '3.11-slim');
    const byTag = await client.getManifest(reg.host, 'library/python', '3.11-slim');
    assert.deepEqual(byTag, { bytes, digest: d, mediaType: MediaType.OciManifest });
    const byDigest = await client.getManifest(reg.host, 'library/python', d);
    assert.equal(byDigest.digest, d);
    assert.deepEqual(await client.headManifest(reg.host, 'library/python', '3.11-slim'), { mediaType: MediaType.OciManifest, digest: d, size: bytes.length });
    assert.equal(await client.headManifest(reg.host, 'library/python', 'nope'), undefined);
  });

  it('sends Accept for OCI and Docker manifests and indexes', async () => {
    const bytes = Buffer.from('{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"}');
    reg.putManifest('acc', bytes, MediaType.DockerManifestList, 't');
    const m = await client.getManifest(reg.host, 'acc', 't');
    assert.equal(m.mediaType, MediaType.DockerManifestList);
  });

  it('reports an unknown manifest as bad input naming the full reference', async () => {
    await assert.rejects(client.getManifest(reg.host, 'library/python', '3.12-slim'), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.code, 'SHALE_MANIFEST_UNKNOWN');
      assert.match(err.message, new RegExp(`image ${reg.host}/library/python:3.12-slim not found in registry ${reg.host} \\(MANIFEST_UNKNOWN\\): check`));
      return true;
    });
  });

  it('detects a manifest whose bytes do not match its digest', async () => {
    const good = Buffer.from('{"good":true}');
    const d = reg.putManifest('tamper', good, MediaType.OciManifest, 'v1');
    reg.manifests.get('tamper')?.set(d, { bytes: Buffer.from('{"evil":true}'), mediaType: MediaType.OciManifest });
    for (const ref of ['v1', d]) {
      await assert.rejects(client.getManifest(reg.host, 'tamper', ref), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.equal(err.code, 'SHALE_DIGEST_MISMATCH');
        assert.match(err.message, new RegExp(`expected ${d}`));
        return true;
      });
    }
  });

  it('streams a blob and verifies it; a corrupt blob fails at the end of the stream', async () => {
    const bytes = Buffer.alloc(300_000, 7);
    const d = reg.putBlob('blobs', bytes) as Digest;
    assert.deepEqual(await readAll(await client.getBlob(reg.host, 'blobs', d, bytes.length)), bytes);
    assert.deepEqual(await client.getBlobBytes(reg.host, 'blobs', d), bytes);
    assert.equal(await client.hasBlob(reg.host, 'blobs', d), true);
    assert.equal(await client.hasBlob(reg.host, 'blobs', sha256('missing')), false);

    reg.blobs.set(d, Buffer.alloc(300_000, 8));
    await assert.rejects(readAll(await client.getBlob(reg.host, 'blobs', d)), /SHALE_DIGEST_MISMATCH|content digest mismatch/);
    await assert.rejects(client.getBlobBytes(reg.host, 'blobs', d), (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_DIGEST_MISMATCH');
    await assert.rejects(
      client.getBlob(reg.host, 'blobs', sha256('missing')),
      (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_BLOB_UNKNOWN',
    );
  });

  it('uploads a blob in one PUT, keeping the Location query, relative or absolute', async () => {
    for (const absolute of [false, true]) {
      reg.absoluteLocations = absolute;
      const bytes = Buffer.from(`blob ${absolute}`);
      const d = sha256(bytes);
      const before = reg.bytesReceived;
      let progress = 0;
      const sent = await client.uploadBlob(reg.host, 'up/load', d, bytes.length, async () => (await import('node:stream')).Readable.from([bytes]), {
        onProgress: (n) => {
          progress = n;
        },
      });
      assert.equal(sent, bytes.length);
      assert.equal(progress, bytes.length);
      assert.equal(reg.bytesReceived - before, bytes.length);
      assert.deepEqual(reg.blobs.get(d), bytes);
      const put = reg.requests('PUT', /\/blobs\/uploads\//).at(-1);
      assert.match(put?.query ?? '', /^\?_state=[^&]+&digest=sha256%3A[a-f0-9]{64}$/);
    }
    reg.absoluteLocations = false;
  });

  it('mounts across repositories (201); a refused mount (202) hands over its session, which the upload uses', async () => {
    const bytes = Buffer.from('base layer');
    const d = reg.putBlob('library/python', bytes) as Digest;
    assert.deepEqual(await client.mountBlob(reg.host, 'demo/app', d, 'library/python'), { mounted: true });
    assert.equal(reg.repoBlobs.get('demo/app')?.has(d), true);
    reg.refuseMounts = true;
    try {
      const mount = await client.mountBlob(reg.host, 'demo/other', d, 'library/python');
      assert.equal(mount.mounted, false);
      assert.ok(!mount.mounted && mount.session, 'the 202 session is handed back');
      await client.uploadBlob(reg.host, 'demo/other', d, bytes.length, async () => Readable.from([bytes]), { session: mount.session });
      const posts = reg.requests('POST', /^\/v2\/demo\/other\/blobs\/uploads\/$/);
      assert.equal(posts.length, 1, 'exactly one POST: the mount; the upload went into its session');
      assert.match(posts[0]?.query ?? '', /mount=/);
      assert.equal(reg.requests('DELETE', /^\/v2\/demo\/other\//).length, 0, 'the session was used, not cancelled');
      assert.deepEqual(reg.blobs.get(d), bytes);
      assert.equal(reg.repoBlobs.get('demo/other')?.has(d), true);
    } finally {
      reg.refuseMounts = false;
    }
  });

  it("DELETEs a refused mount's session when the upload into it fails", async () => {
    const bytes = Buffer.from('base layer 2');
    const d = reg.putBlob('library/python', bytes) as Digest;
    reg.refuseMounts = true;
    try {
      const mount = await client.mountBlob(reg.host, 'demo/abandon', d, 'library/python');
      assert.ok(!mount.mounted && mount.session);
      reg.fail('PUT', /^\/v2\/demo\/abandon\/blobs\/uploads\//, 400, 1);
      await assert.rejects(
        client.uploadBlob(reg.host, 'demo/abandon', d, bytes.length, async () => Readable.from([bytes]), { session: mount.session }),
        /answered 400/,
      );
      const sessionPath = new URL(mount.session.location, 'http://x').pathname;
      assert.equal(
        reg
          .requests('DELETE', /^\/v2\/demo\/abandon\//)
          .map((r) => r.path)
          .join(),
        sessionPath,
      );
    } finally {
      reg.refuseMounts = false;
    }
  });

  it('puts manifests by tag and digest and checks the digest it is pushed as', async () => {
    const bytes = Buffer.from('{"schemaVersion":2,"manifests":[]}');
    const d = await client.putManifest(reg.host, 'put/m', 'v1', bytes, MediaType.OciIndex);
    assert.equal(d, sha256(bytes));
    assert.equal(reg.tags.get('put/m')?.get('v1'), d);
    const put = reg.requests('PUT', /\/manifests\//).at(-1);
    assert.equal(put?.status, 201);
    assert.equal(put?.contentType, MediaType.OciIndex, "Content-Type is the manifest's mediaType");
    assert.deepEqual(reg.manifests.get('put/m')?.get(d)?.bytes, bytes, 'the exact bytes, not re-serialized');
    await assert.rejects(client.putManifest(reg.host, 'put/m', sha256('other'), bytes, MediaType.OciIndex), /hash to/);
  });

  it('checks Docker-Content-Digest on manifest GET and PUT answers', async () => {
    const bytes = Buffer.from('{"schemaVersion":2,"manifests":[]}');
    reg.putManifest('dcd', bytes, MediaType.OciIndex, 'v1');
    reg.tamperDigestHeaders = true;
    try {
      await assert.rejects(
        client.getManifest(reg.host, 'dcd', 'v1'),
        (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_DIGEST_MISMATCH' && err.message.includes('(Docker-Content-Digest)'),
      );
      await assert.rejects(
        client.putManifest(reg.host, 'dcd', 'v2', bytes, MediaType.OciIndex),
        (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_DIGEST_MISMATCH',
      );
    } finally {
      reg.tamperDigestHeaders = false;
    }
  });

  it('retries 5xx and 429 and then succeeds; gives up when the budget is spent, saying how long it tried and what to do', async () => {
    const bytes = Buffer.from('{"retry":1}');
    reg.putManifest('retry', bytes, MediaType.OciManifest, 'v1');
    reg.fail('GET', /\/v2\/retry\/manifests\//, 503, 1);
    reg.fail('GET', /\/v2\/retry\/manifests\//, 429, 1);
    assert.equal((await client.getManifest(reg.host, 'retry', 'v1')).digest, sha256(bytes));
    reg.fail('GET', /\/v2\/retry\/manifests\//, 500, 1000);
    const n = reg.requests('GET', /\/v2\/retry\/manifests\//).length;
    await assert.rejects(client.getManifest(reg.host, 'retry', 'v1'), (err: unknown) => {
      assert.ok(err instanceof ShaleError);
      assert.match(
        err.message,
        new RegExp(
          `^getting manifest ${reg.host}/retry:v1: registry answered 500 \\(UNAVAILABLE: injected failure\\); gave up after (\\d+) tries in 6\\d s \\(retry budget 60 s, SHALE_RETRY_BUDGET\\); run the same command again once the registry answers$`,
        ),
      );
      return true;
    });
    const tries = reg.requests('GET', /\/v2\/retry\/manifests\//).length - n;
    // 0.5–1 s doubling to 5–10 s fits 8 to 14 tries in 60 s.
    assert.ok(tries >= 8 && tries <= 14, `${tries} tries`);
  });

  it('wraps upload failures with the action', async () => {
    reg.fail('PUT', /\/blobs\/uploads\//, 400, 1);
    const bytes = Buffer.from('x');
    await assert.rejects(
      client.uploadBlob(reg.host, 'demo/app', sha256(bytes), 1, async () => (await import('node:stream')).Readable.from([bytes])),
      { message: `pushing blob ${sha256(bytes)} to ${reg.host}/demo/app: registry answered 400 (INJECTED: injected failure)` },
    );
  });
});

describe('RegistryClient network errors', () => {
  it('says a registry that refuses connections is not reachable, naming it', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const { client, cleanup } = await testClient();
    try {
      await assert.rejects(client.getManifest(`127.0.0.1:${port}`, 'a', 'b'), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.equal(err.exitCode, 1);
        assert.equal(err.message, `cannot reach registry 127.0.0.1:${port}: connection refused; is it running?`);
        return true;
      });
    } finally {
      await cleanup();
    }
  });
});
