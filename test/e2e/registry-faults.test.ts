// Pushes through a fault-injecting proxy in front of a real registry: 5xx, 429 with and without
// Retry-After, connections cut mid-body, a stalled request, refused mounts (202), a body-size
// limit (413) that forces chunked uploads, and a 416 on a chunk. Every push completes and the
// image podman pulls runs; a registry that stays down gives a clear error and no tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { freePort } from './support/registry.js';
import { skopeoInspect, withImage } from './support/podman.js';
import { shale, shaleJson } from './support/shale.js';
import { startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';

const ctx = useRegistryWithBase();
const app = join(repoRoot(), 'examples', 'hello_python');

/** Pushes hello_python through a proxy with `faults` (base pulls too), returning the proxy's log. */
async function pushThrough(faults: Fault[], tag: string, env: Record<string, string> = {}): Promise<{ proxy: FaultProxy; ref: string; digest: string }> {
  const proxy = await startFaultProxy(ctx.reg.host, faults);
  try {
    const ref = `${proxy.host}/demo/faults-${tag}:${tag}`;
    const out = await shaleJson(['build', app, '--push', ref], { ...ctx.env, SHALE_REGISTRY_MIRRORS: `docker.io=${proxy.host}`, ...env });
    return { proxy, ref, digest: out.digest };
  } finally {
    await proxy.stop();
  }
}

/** Pulls the pushed image (straight from the registry) with podman and checks it serves. */
async function assertRuns(tag: string, digest: string): Promise<void> {
  const ref = `${ctx.reg.host}/demo/faults-${tag}:${tag}`;
  assert.equal((await skopeoInspect(ref)).Digest, digest);
  await withImage(ref, { port: await freePort() }, async (c) => {
    assert.match(await (await fetch(`${c.url}/`)).text(), /hello from shale/);
  });
}

const hits = (proxy: FaultProxy, kind?: string): number => proxy.log.filter((r) => (kind ? r.fault === kind : r.fault !== undefined)).length;

test('5xx and 429 (Retry-After in seconds, as a date, and none) are retried and the push completes', async () => {
  const inTwoSeconds = new Date(Date.now() + 2_000).toUTCString();
  const faults: Fault[] = [
    { method: 'GET', path: /^\/v2\/$/, status: 503, times: 1 },
    { method: 'HEAD', path: /\/blobs\/sha256:/, status: 500, times: 1 },
    { method: 'POST', path: /\/blobs\/uploads\/$/, status: 502, times: 1 },
    { method: 'PUT', path: /\/blobs\/uploads\//, status: 503, times: 1 },
    { method: 'GET', path: /\/manifests\//, status: 429, retryAfter: '1', times: 1 },
    { method: 'GET', path: /\/blobs\/sha256:/, status: 429, retryAfter: inTwoSeconds, times: 1 },
    { method: 'PUT', path: /\/manifests\//, status: 429, times: 1 },
  ];
  const { proxy, digest } = await pushThrough(faults, 'statuses');
  for (const f of proxy.faults as (Fault & { hit: number })[])
    assert.equal(f.hit, 1, `fault ${f.method} ${String(f.path)} was hit:\n${proxy.log.map((r) => `${r.method} ${r.path} ${r.status}`).join('\n')}`);
  const i = proxy.log.findIndex((r) => r.status === 429 && r.method === 'GET');
  const next = proxy.log.slice(i + 1).find((r) => r.method === 'GET' && r.path === proxy.log[i]?.path);
  assert.ok(next && next.at - (proxy.log[i]?.at ?? 0) >= 950, 'waited the Retry-After second before asking again');
  await assertRuns('statuses', digest);
});

test('connections cut mid-body, a stalled request and refused mounts (202, uploaded into) are survived', async () => {
  const faults: Fault[] = [
    { method: 'POST', path: /[?&]mount=/, kind: 'mount-202' },
    { method: 'GET', path: /\/blobs\/sha256:/, kind: 'reset-response', times: 1 },
    { method: 'PUT', path: /\/blobs\/uploads\//, kind: 'reset-request', times: 1 },
    { method: 'HEAD', path: /\/blobs\/sha256:/, kind: 'stall', skip: 1, times: 1 },
  ];
  const started = Date.now();
  const { proxy, digest } = await pushThrough(faults, 'resets', { SHALE_REGISTRY_TIMEOUT: '2' });
  assert.ok(hits(proxy, 'mount-202') >= 1, 'a mount was answered 202');
  assert.equal(hits(proxy, 'reset-response'), 1);
  assert.equal(hits(proxy, 'reset-request'), 1);
  assert.equal(hits(proxy, 'stall'), 1);
  assert.ok(Date.now() - started < 60_000, 'the stalled request timed out instead of hanging');
  // A refused mount's 202 opened an upload session: the upload goes into it (distribution spec),
  // rather than a second POST; the upload cut mid-body asks its session where it stands and goes
  // on in it (the cut never reached the registry, so the session is intact).
  const refused = proxy.log.filter((r) => r.fault === 'mount-202' && r.status === 202);
  assert.ok(refused.length >= 1);
  for (const m of refused) {
    const session = new URL(m.location ?? assert.fail('a 202 carries a Location'), 'http://x').pathname;
    assert.ok(
      proxy.log.some((r) => r.at >= m.at && (r.method === 'PUT' || r.method === 'PATCH') && r.path.startsWith(session)),
      `the session ${session} was used`,
    );
  }
  const cut = proxy.log.find((r) => r.fault === 'reset-request') ?? assert.fail('a cut upload');
  const cutSession = new URL(cut.path, 'http://x').pathname;
  assert.ok(
    proxy.log.some((r) => r.at >= cut.at && r.method === 'GET' && r.path.startsWith(cutSession) && r.status === 204),
    "asked the cut upload's session where it stood",
  );
  assert.ok(
    proxy.log.some((r) => r.at > cut.at && r.method === 'PUT' && r.path.startsWith(cutSession) && r.status === 201),
    'and finished the upload in it',
  );
  await assertRuns('resets', digest);
});

test('a body-size limit (413) makes chunks smaller, which resume after a 416 and a 500', async () => {
  const faults: Fault[] = [
    { method: 'POST', path: /[?&]mount=/, kind: 'mount-202' },
    // A proxy's body limit under the 16 MiB chunks: learnt by halving (16 → 8 → 4 MiB); the
    // refused requests asked 100-continue, so they cost no body.
    { path: /\/blobs\/uploads\//, kind: 'too-large', maxBody: 4 << 20 },
    { method: 'PATCH', path: /\/blobs\/uploads\//, status: 416, skip: 1, times: 1 },
    { method: 'PATCH', path: /\/blobs\/uploads\//, status: 500, skip: 3, times: 1 },
  ];
  const { proxy, digest } = await pushThrough(faults, 'chunked');
  const patches = proxy.log.filter((r) => r.method === 'PATCH');
  assert.ok(patches.length >= 3, `uploaded in chunks (${patches.length} PATCHes)`);
  assert.equal(hits(proxy, 'too-large'), 2, 'learnt the limit, halving twice');
  assert.equal(
    proxy.log.filter((r) => r.fault === 'too-large').reduce((a, r) => a + r.bodyBytes, 0),
    0,
    'the refused requests sent no body',
  );
  assert.ok(
    patches.filter((r) => r.status === 202).every((r) => r.bodyBytes <= 4 << 20),
    'every chunk within the limit',
  );
  assert.ok(
    proxy.log.some((r) => r.method === 'GET' && /\/blobs\/uploads\//.test(r.path)),
    'asked the upload status to resume',
  );
  await assertRuns('chunked', digest);
});

test('a registry that stays down: a clear error once the retry budget is spent, nothing tagged', async () => {
  const proxy = await startFaultProxy(ctx.reg.host, [{ path: /\/v2\/demo\//, status: 503 }]);
  try {
    const ref = `${proxy.host}/demo/faults:down`;
    const r = await shale(['build', app, '--push', ref], { ...ctx.env, SHALE_RETRY_BUDGET: '3' });
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: .*${proxy.host.replace(/\./g, '\\.')}/demo/faults.*registry answered 503.*gave up after \\d+ tries in \\d(\\.\\d)? s \\(retry budget 3 s, SHALE_RETRY_BUDGET\\); run the same command again`,
        'm',
      ),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!proxy.log.some((e) => e.method === 'PUT' && e.path.includes('/manifests/') && e.status !== 503));
  } finally {
    await proxy.stop();
  }
  await assert.rejects(skopeoInspect(`${ctx.reg.host}/demo/faults:down`), 'no tag');
});
