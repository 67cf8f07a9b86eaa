// Registry outages against the retry budget, in fake time (the client's clock skips its waits):
// a 30 s outage mid-upload completes and resumes where the upload stood; an outage longer than
// the budget fails with what to do; each accepted chunk renews the budget; Retry-After is waited;
// the 500/4 + reset/6 + 429/9 mix completes with less than 1.5× the blob's bytes sent.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import { sha256 } from '../../../src/oci/digest.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { startFlakyProxy, type FlakyProxy, type Verdict } from './flaky-proxy.js';
import { testClient } from './fixture.js';
import type { FakeClock } from './fake-clock.js';
import type { RegistryClientOptions } from '../../../src/registry/client.js';

const MiB = 1 << 20;
const UPLOADS = /\/blobs\/uploads\//;

/** Bytes that differ from chunk to chunk, so a chunk sent at the wrong offset breaks the digest. */
function blob(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 10)) % 251;
  return b;
}

interface Rig {
  reg: FakeRegistry;
  proxy: FlakyProxy;
  clock: FakeClock;
  upload(bytes: Buffer, repo?: string): Promise<number>;
  done(): Promise<void>;
}

/** A fake registry behind a scripted proxy, and a client on a fake clock; `decide` sees the clock. */
async function rig(decide: (req: { method: string; path: string; n: number }, clock: FakeClock) => Verdict, options: RegistryClientOptions = {}): Promise<Rig> {
  const reg = await FakeRegistry.start();
  let clock: FakeClock | undefined;
  const proxy = await startFlakyProxy(reg.host, (r) => decide(r, clock as FakeClock));
  const t = await testClient({ options: { chunkBytes: { [proxy.host]: MiB }, ...options } });
  clock = t.clock;
  return {
    reg,
    proxy,
    clock,
    upload: (bytes, repo = 'demo/app') => t.client.uploadBlob(proxy.host, repo, sha256(bytes), bytes.length, async () => Readable.from([bytes])),
    done: async () => {
      await t.cleanup();
      await proxy.stop();
      await reg.close();
    },
  };
}

/** Everything answers 503 from the moment `after` says until `ms` of clock time later. */
function outage(after: (req: { method: string; path: string }) => boolean, ms: number): (req: { method: string; path: string }, clock: FakeClock) => Verdict {
  let from: number | undefined;
  return (req, clock) => {
    if (from === undefined && after(req)) from = clock.now();
    return from !== undefined && clock.now() - from < ms ? { status: 503 } : 'pass';
  };
}

describe('registry outages', () => {
  it('a 30 s outage mid-upload: the upload waits it out and goes on from the byte the session holds', async () => {
    let patches = 0;
    const r = await rig(outage((req) => req.method === 'PATCH' && ++patches === 3, 30_000));
    try {
      const bytes = blob(5 * MiB);
      const sent = await r.upload(bytes);
      assert.deepEqual(r.reg.blobs.get(sha256(bytes)), bytes);
      assert.ok(r.clock.slept >= 30_000 && r.clock.slept < 45_000, `waited ${r.clock.slept} ms of fake time`);
      const ranges = r.proxy.log.filter((e) => e.method === 'PATCH' && e.status === 202).map((e) => e.contentRange);
      assert.deepEqual(ranges, ['0-1048575', '1048576-2097151', '2097152-3145727', '3145728-4194303', '4194304-5242879'], 'no chunk sent twice');
      // 1 MiB chunks ask 100-continue: the refused ones cost headers, not bodies.
      assert.equal(r.proxy.uploadBytes(), bytes.length);
      assert.equal(sent, bytes.length);
      assert.ok(
        r.proxy.log.some((e) => e.method === 'GET' && UPLOADS.test(e.path) && e.status === 204),
        'asked where the upload stood',
      );
    } finally {
      await r.done();
    }
  });

  it('an outage longer than the budget: fails saying how long it tried and what to do, and DELETEs the session', async () => {
    let patches = 0;
    const r = await rig(
      outage((req) => req.method === 'PATCH' && ++patches === 2, 3_600_000),
      { env: { SHALE_RETRY_BUDGET: '20' } },
    );
    try {
      const bytes = blob(3 * MiB);
      await assert.rejects(r.upload(bytes), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.match(
          err.message,
          new RegExp(
            `^pushing blob ${sha256(bytes)} to ${r.proxy.host}/demo/app( \\(asking where the upload stands\\))?: registry answered 503 \\(UNAVAILABLE: scripted\\); gave up after \\d+ tries in 2\\d s \\(retry budget 20 s, SHALE_RETRY_BUDGET\\); run the same command again: blobs already pushed are kept, and the tag was not moved$`,
          ),
        );
        return true;
      });
      assert.ok(r.clock.slept >= 19_000 && r.clock.slept <= 20_000, `waited ${r.clock.slept} ms`);
      assert.ok(
        r.proxy.log.some((e) => e.method === 'DELETE' && UPLOADS.test(e.path)),
        'the abandoned session was DELETEd',
      );
    } finally {
      await r.done();
    }
  });

  it('each accepted chunk renews the budget: three 40 s outages with a 60 s budget complete', async () => {
    let patches = 0;
    const starts = new Set([2, 4, 6]);
    let from: number | undefined;
    const r = await rig((req, clock) => {
      if (req.method === 'PATCH' && from === undefined && starts.has(++patches)) from = clock.now();
      if (from !== undefined && clock.now() - from < 40_000) return { status: 503 };
      from = undefined;
      return 'pass';
    });
    try {
      const bytes = blob(4 * MiB);
      await r.upload(bytes);
      assert.deepEqual(r.reg.blobs.get(sha256(bytes)), bytes);
      assert.ok(r.clock.slept >= 120_000, `waited ${r.clock.slept} ms in all, more than one budget`);
    } finally {
      await r.done();
    }
  });

  it('waits what Retry-After asks, longer than the backoff cap', async () => {
    let n = 0;
    const r = await rig((req) => (req.method === 'PATCH' && ++n === 2 ? { status: 429, retryAfter: '20' } : 'pass'));
    try {
      await r.upload(blob(3 * MiB));
      assert.deepEqual(r.clock.waits, [20_000]);
    } finally {
      await r.done();
    }
  });

  it('500 on every 4th, a reset on every 6th and 429 on every 9th upload request: completes, < 1.5× the bytes sent', async () => {
    let n = 0;
    const r = await rig((req) => {
      if (!UPLOADS.test(req.path)) return 'pass';
      n++;
      return n % 4 === 0 ? { status: 500 } : n % 6 === 0 ? 'cut' : n % 9 === 0 ? { status: 429 } : 'pass';
    });
    try {
      const big = blob(12 * MiB);
      const small = Buffer.from('a small config blob');
      await r.upload(big);
      await r.upload(small);
      assert.deepEqual(r.reg.blobs.get(sha256(big)), big);
      assert.deepEqual(r.reg.blobs.get(sha256(small)), small);
      const ratio = r.proxy.uploadBytes() / (big.length + small.length);
      assert.ok(ratio < 1.5, `sent ${ratio.toFixed(3)}× the bytes`);
      assert.ok(r.proxy.log.some((e) => e.verdict === 'cut') && r.proxy.log.some((e) => e.verdict === '429'), 'every kind of fault happened');
    } finally {
      await r.done();
    }
  });
});
