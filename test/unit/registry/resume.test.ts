// What an upload does after a request fails (distribution spec, "Resuming an upload"): it asks
// the session where it stands and goes on from there; a session the registry dropped is replaced
// after a HEAD; a lost commit answer is found by that HEAD; a registry that refuses chunks gets
// whole blobs; a large request the registry refuses costs no body (100-continue). Fake time.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { sha256 } from '../../../src/oci/digest.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { startFlakyProxy, type FlakyProxy, type Verdict } from './flaky-proxy.js';
import { testClient } from './fixture.js';

const MiB = 1 << 20;
function blob(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + (i >> 12)) % 251;
  return b;
}

/** Runs `body` with a fake registry behind a scripted proxy and a fake-clock client with `chunk`-byte chunks (1 MiB; 0: the defaults). */
async function withRig(
  decide: (req: { method: string; path: string; n: number; length: number }) => Verdict,
  body: (r: { reg: FakeRegistry; proxy: FlakyProxy; upload: (b: Buffer) => Promise<number> }) => Promise<void>,
  chunk = MiB,
): Promise<void> {
  const reg = await FakeRegistry.start();
  const proxy = await startFlakyProxy(reg.host, decide);
  // chunk 0: no configured limit (the default chunks).
  const t = await testClient({ options: chunk ? { chunkBytes: { [proxy.host]: chunk } } : {} });
  try {
    await body({ reg, proxy, upload: (b) => t.client.uploadBlob(proxy.host, 'demo/app', sha256(b), b.length, async () => Readable.from([b])) });
  } finally {
    await t.cleanup();
    await proxy.stop();
    await reg.close();
  }
}

/** The upload requests the registry saw, as "METHOD status range". */
const flow = (reg: FakeRegistry): string[] =>
  reg.log.filter((r) => r.path.startsWith('/v2/demo/app/')).map((r) => `${r.method} ${r.status}${r.contentRange ? ` ${r.contentRange}` : ''}`);

describe('resuming uploads', () => {
  it('a chunk cut mid-body: resends that chunk only, from the byte the session holds', async () => {
    let patches = 0;
    await withRig(
      (req) => (req.method === 'PATCH' && ++patches === 3 ? 'cut' : 'pass'),
      async ({ reg, proxy, upload }) => {
        const bytes = blob(4 * MiB);
        const sent = await upload(bytes);
        assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
        assert.deepEqual(flow(reg), [
          'POST 202',
          'PATCH 202 0-1048575',
          'PATCH 202 1048576-2097151',
          'GET 204',
          'PATCH 202 2097152-3145727',
          'PATCH 202 3145728-4194303',
          'PUT 201',
        ]);
        // Half a chunk (and what was in flight) lost on the cut, nothing else.
        const lost = proxy.uploadBytes() - bytes.length;
        assert.ok(lost >= MiB / 2 && lost < MiB, `${lost} bytes lost`);
        assert.ok(sent >= bytes.length + MiB / 2, `sent ${sent}`);
      },
    );
  });

  it('a session the registry dropped (404, as distribution does after a cut body): HEAD, then a fresh session from byte 0', async () => {
    let dropped: string | undefined;
    let patches = 0;
    await withRig(
      (req) => {
        const session = /\/blobs\/uploads\/([^/?]+)/.exec(req.path)?.[1];
        if (dropped && session === dropped) return { status: 404 };
        if (req.method === 'PATCH' && ++patches === 2) {
          dropped = session;
          return 'cut';
        }
        return 'pass';
      },
      async ({ reg, upload }) => {
        const bytes = blob(3 * MiB);
        await upload(bytes);
        assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
        assert.deepEqual(flow(reg), [
          'POST 202',
          'PATCH 202 0-1048575',
          'HEAD 404',
          'POST 202',
          'PATCH 202 0-1048575',
          'PATCH 202 1048576-2097151',
          'PATCH 202 2097152-3145727',
          'PUT 201',
        ]);
      },
    );
  });

  it('a commit whose answer is lost: the session is gone, the HEAD finds the blob, nothing is sent again', async () => {
    await withRig(
      (req) => (req.method === 'PUT' ? 'lose-answer' : 'pass'),
      async ({ reg, proxy, upload }) => {
        const bytes = blob(2 * MiB + 5);
        await upload(bytes);
        assert.deepEqual(flow(reg).slice(-3), ['PUT 201', 'GET 404', 'HEAD 200']);
        assert.equal(proxy.uploadBytes(), bytes.length);
      },
    );
  });

  it('a registry that refuses chunked uploads (405): whole-blob PUTs from then on', async () => {
    await withRig(
      (req) => (req.method === 'PATCH' ? { status: 405 } : 'pass'),
      async ({ reg, upload }) => {
        const a = blob(2 * MiB);
        const b = blob(3 * MiB);
        await upload(a);
        await upload(b);
        assert.deepEqual(reg.blobs.get(sha256(a)), a);
        assert.deepEqual(reg.blobs.get(sha256(b)), b);
        const seen = flow(reg);
        assert.deepEqual(
          seen.slice(0, 4),
          ['POST 202', 'DELETE 204', 'POST 202', 'PUT 201'],
          'the PATCH never reached the registry; a fresh session took the whole blob',
        );
        assert.deepEqual(seen.slice(4), ['POST 202', 'PUT 201'], 'the next blob went whole at once');
      },
    );
  });

  it('a large whole-blob PUT refused with 503 costs no body (Expect: 100-continue); the retry goes into the same session', async () => {
    let puts = 0;
    await withRig(
      (req) => (req.method === 'PUT' && ++puts === 1 ? { status: 503 } : 'pass'),
      async ({ reg, proxy, upload }) => {
        const bytes = blob(3 * MiB);
        await upload(bytes);
        assert.deepEqual(flow(reg), ['POST 202', 'GET 204', 'PUT 201']);
        assert.equal(proxy.uploadBytes(), bytes.length, 'the refused PUT sent no body');
      },
      16 * MiB,
    );
  });

  it('a small blob refused mid-way is sent again whole (no 100-continue below 1 MiB)', async () => {
    let puts = 0;
    await withRig(
      (req) => (req.method === 'PUT' && ++puts === 1 ? { status: 500 } : 'pass'),
      async ({ reg, proxy, upload }) => {
        const bytes = Buffer.from('config');
        assert.equal(await upload(bytes), 2 * bytes.length);
        assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
        assert.equal(proxy.uploadBytes(), 2 * bytes.length);
      },
    );
  });

  it('a body limit under a whole-blob PUT (413): chunks under half the refused size, in the same session, no body lost', async () => {
    await withRig(
      (req) => (req.length > MiB ? { status: 413 } : 'pass'),
      async ({ reg, proxy, upload }) => {
        const bytes = blob(2 * MiB);
        await upload(bytes);
        assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
        assert.deepEqual(flow(reg), ['POST 202', 'GET 204', 'PATCH 202 0-1048575', 'PATCH 202 1048576-2097151', 'PUT 201']);
        assert.equal(proxy.uploadBytes(), bytes.length);
      },
      16 * MiB,
    );
  });

  it('a 404 on a chunk means the session is gone: a fresh one; a 404 on opening a session is an answer, not retried', async () => {
    let patches = 0;
    await withRig(
      (req) => (req.method === 'PATCH' && ++patches === 2 ? { status: 404 } : 'pass'),
      async ({ reg, upload }) => {
        const bytes = blob(2 * MiB + 1);
        await upload(bytes);
        assert.deepEqual(reg.blobs.get(sha256(bytes)), bytes);
        assert.deepEqual(flow(reg).slice(0, 4), ['POST 202', 'PATCH 202 0-1048575', 'HEAD 404', 'POST 202']);
      },
    );
    await withRig(
      (req) => (req.method === 'POST' ? { status: 404 } : 'pass'),
      async ({ proxy, upload }) => {
        await assert.rejects(upload(Buffer.from('x')), /registry answered 404/);
        assert.equal(proxy.log.filter((e) => e.method === 'POST').length, 1, 'asked once');
      },
    );
  });

  it('default chunks start at 16 MiB and double while the registry fails nothing; after a failure they stay at 16 MiB', async () => {
    const ranges = (reg: FakeRegistry): string[] =>
      reg
        .requests('PATCH')
        .filter((r) => r.status === 202)
        .map((r) => r.contentRange ?? '');
    const M = (n: number): number => n * MiB;
    await withRig(
      () => 'pass',
      async ({ reg, upload }) => {
        await upload(blob(M(60)));
        assert.deepEqual(ranges(reg), [`0-${M(16) - 1}`, `${M(16)}-${M(48) - 1}`, `${M(48)}-${M(60) - 1}`]);
      },
      0,
    );
    let patches = 0;
    await withRig(
      (req) => (req.method === 'PATCH' && ++patches === 2 ? { status: 503 } : 'pass'),
      async ({ reg, upload }) => {
        await upload(blob(M(60)));
        assert.deepEqual(ranges(reg), [`0-${M(16) - 1}`, `${M(16)}-${M(32) - 1}`, `${M(32)}-${M(48) - 1}`, `${M(48)}-${M(60) - 1}`]);
      },
      0,
    );
  });
});
