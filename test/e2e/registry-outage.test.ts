// Pushes that outlast real outages, against a real registry (docker-registry 2.8) behind the
// fault proxy: the 500/4 + reset/6 + 429/9 mix of upload requests, a 30 s outage mid-push (every
// request 503, connections in flight cut), a cut whose partial body reaches the registry (which
// then drops the upload session), and an outage longer than the retry budget (a clear error, no
// tag, and a rerun that sends only what is missing). The image goes to a second, empty registry,
// so every blob (the base layer too) is uploaded; each pushed image is pulled back with skopeo
// (which checks every blob's digest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { startRegistry, type Registry } from './support/registry.js';
import { skopeoInspect } from './support/podman.js';
import { shale, shaleJson } from './support/shale.js';
import { FAULT_MIX, startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';

const ctx = useRegistryWithBase();
const app = join(repoRoot(), 'examples', 'hello_python');
const UPLOADS = /\/blobs\/uploads\//;

/** Starts a second registry and a fault proxy in front of it; stops both after `body`. */
async function withTarget<T>(faults: Fault[], body: (target: Registry, proxy: FaultProxy) => Promise<T>): Promise<T> {
  const target = await startRegistry();
  const proxy = await startFaultProxy(target.host, faults);
  try {
    return await body(target, proxy);
  } finally {
    await proxy.stop();
    await target.stop();
  }
}

/**
 * Pulls `repo:tag` back from the registry with skopeo (every blob's digest checked) and returns
 * the image's bytes: its config and layers, as the manifest names them.
 */
async function pullBack(target: Registry, repo: string, tag: string, digest: string): Promise<number> {
  assert.equal((await skopeoInspect(`${target.host}/${repo}:${tag}`)).Digest, digest);
  const dir = await mkdtemp(join(tmpdir(), 'shale-pulled-'));
  try {
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${target.host}/${repo}:${tag}`, `oci:${dir}:x`], {
      timeoutMs: 5 * 60_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const res = await fetch(`${target.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  const m = (await res.json()) as { config: { size: number }; layers: { size: number }[] };
  return m.config.size + m.layers.reduce((a, l) => a + l.size, 0);
}

const hits = (proxy: FaultProxy, kind: string): number => proxy.log.filter((r) => r.fault === kind).length;

test('500 on every 4th, a reset on every 6th and 429 on every 9th upload request: the push completes, sending < 1.5× the image', async (t) => {
  await withTarget([...FAULT_MIX], async (target, proxy) => {
    const started = Date.now();
    const out = await shaleJson(['build', app, '--push', `${proxy.host}/demo/mix:v1`], ctx.env);
    const seconds = (Date.now() - started) / 1000;
    const imageBytes = await pullBack(target, 'demo/mix', 'v1', out.digest);
    const sent = proxy.uploadBytes();
    t.diagnostic(
      `fault mix: ${seconds.toFixed(1)} s, ${sent} bytes sent for an image of ${imageBytes} (${(sent / imageBytes).toFixed(3)}×); faults: ${hits(proxy, 'status')} status, ${hits(proxy, 'reset-request')} resets, of ${proxy.log.filter((r) => UPLOADS.test(r.path)).length} upload requests`,
    );
    assert.ok(
      hits(proxy, 'reset-request') >= 1 && proxy.log.some((r) => r.status === 429) && proxy.log.some((r) => r.status === 500),
      'every kind of fault happened',
    );
    assert.ok(sent < 1.5 * imageBytes, `sent ${sent} bytes, ${(sent / imageBytes).toFixed(3)}× the image's ${imageBytes}`);
    assert.ok(
      proxy.log.some((r) => r.method === 'GET' && UPLOADS.test(r.path) && r.status === 204),
      "resumed from an upload session's status",
    );
  });
});

test('a 30 s outage mid-push (every request 503, connections in flight cut): the push completes', async (t) => {
  // The outage starts at the 4th upload request: the base layer's chunks are under way.
  const outage: Fault = { path: UPLOADS, kind: 'outage', skip: 3, times: 1, durationMs: 30_000 };
  await withTarget([outage], async (target, proxy) => {
    const started = Date.now();
    const out = await shaleJson(['build', app, '--push', `${proxy.host}/demo/outage:v1`], { ...ctx.env, SHALE_RETRY_BUDGET: '60' });
    const seconds = (Date.now() - started) / 1000;
    const down = proxy.log.filter((r) => r.fault === 'outage');
    const span = (down.at(-1)?.at ?? 0) - (down[0]?.at ?? 0);
    assert.ok(down.length >= 3 && span >= 20_000, `the outage was seen: ${down.length} refused requests over ${span} ms`);
    assert.ok(seconds >= 30, `the push outlasted the outage (${seconds.toFixed(1)} s)`);
    const imageBytes = await pullBack(target, 'demo/outage', 'v1', out.digest);
    const sent = proxy.uploadBytes();
    t.diagnostic(
      `30 s outage: ${seconds.toFixed(1)} s, ${sent} bytes sent for an image of ${imageBytes} (${(sent / imageBytes).toFixed(3)}×); ${down.length} requests refused during the outage`,
    );
  });
});

test('a cut whose partial body reaches the registry (distribution then drops the session): a fresh session, and the push completes', async () => {
  await withTarget([{ method: 'PATCH', path: UPLOADS, kind: 'reset-forwarded', times: 1 }], async (target, proxy) => {
    const out = await shaleJson(['build', app, '--push', `${proxy.host}/demo/dropped:v1`], ctx.env);
    assert.equal(hits(proxy, 'reset-forwarded'), 1);
    assert.ok(
      proxy.log.some((r) => r.method === 'GET' && UPLOADS.test(r.path) && r.status === 404),
      'the registry no longer had the session',
    );
    assert.ok(proxy.log.filter((r) => r.method === 'POST' && UPLOADS.test(r.path)).length >= 2, 'a fresh session was opened');
    await pullBack(target, 'demo/dropped', 'v1', out.digest);
  });
});

test('an outage longer than the retry budget: an error that says how long it tried and what to do, no tag; the rerun sends only what is missing', async () => {
  // The third commit is the config's (configs go after every layer): the layers are in by then.
  const outage: Fault = { method: 'PUT', path: UPLOADS, kind: 'outage', skip: 2, times: 1, durationMs: 3_600_000 };
  await withTarget([outage], async (target, proxy) => {
    const ref = `${proxy.host}/demo/budget:v1`;
    const started = Date.now();
    const r = await shale(['build', app, '--push', ref], { ...ctx.env, SHALE_RETRY_BUDGET: '4' });
    assert.equal(r.exitCode, 1, r.stderr);
    assert.ok(Date.now() - started < 30_000, 'gave up after the budget, not later');
    assert.match(
      r.stderr,
      /^error: pushing blob sha256:[a-f0-9]{64} to [^:]+:\d+\/demo\/budget( \(asking where the upload stands\))?: registry answered 503 \(UNAVAILABLE: injected fault\); gave up after \d+ tries in \d(\.\d)? s \(retry budget 4 s, SHALE_RETRY_BUDGET\); run the same command again: blobs already pushed are kept, and the tag was not moved$/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!proxy.log.some((e) => e.method === 'PUT' && e.path.includes('/manifests/')), 'no manifest was put');
    await assert.rejects(skopeoInspect(`${target.host}/demo/budget:v1`), 'no tag');

    // The registry is back (a proxy without faults in front of it): only the config is sent.
    const again = await startFaultProxy(target.host, []);
    try {
      const out = await shaleJson(['build', app, '--push', `${again.host}/demo/budget:v1`], ctx.env);
      const imageBytes = await pullBack(target, 'demo/budget', 'v1', out.digest);
      assert.ok(again.uploadBytes() < imageBytes / 100, `the rerun sent ${again.uploadBytes()} of the image's ${imageBytes} bytes`);
      assert.equal(out.pushed.blobs, 1, 'one blob (the config) was uploaded');
    } finally {
      await again.stop();
    }
  });
});
