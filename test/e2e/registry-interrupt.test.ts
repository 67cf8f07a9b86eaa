// Interruptions: `kill -9` of `shale build --push` at several points (after N requests reached the
// registry) leaves the cache consistent and the next run with the same cache completes; Ctrl-C
// (SIGINT) cancels cleanly: abandoned uploads are DELETEd, exit 130, one line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { freePort } from './support/registry.js';
import { withImage } from './support/podman.js';
import { freshCache, shaleBin, shaleJson } from './support/shale.js';
import { startFaultProxy, type Fault, type FaultProxy } from './support/fault-proxy.js';

const ctx = useRegistryWithBase();
const app = join(repoRoot(), 'examples', 'hello_fastapi');

/**
 * Starts `shale build --push ref` and sends `signal` once the proxy has seen `n` requests.
 * Resolves with the exit code, the signal that ended it and stderr.
 */
function buildUntil(
  proxy: FaultProxy,
  ref: string,
  env: Record<string, string>,
  n: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [shaleBin(), 'build', app, '--push', ref], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    const start = proxy.log.length;
    proxy.onRequest = (count) => {
      if (count - start === n) child.kill(signal);
    };
    child.on('close', (code, sig) => {
      proxy.onRequest = undefined;
      resolve({ code, signal: sig, stderr });
    });
  });
}

test('kill -9 at several points of a push; the rerun with the same cache completes and the image runs', async () => {
  const { run } = await import('./support/exec.js');
  await run('sh', [join(app, 'fetch-wheels.sh')]);
  const proxy = await startFaultProxy(ctx.reg.host, []);
  try {
    // From resolving the base (layers still being built and cached) to the middle of the uploads.
    const points = [3, 8, 14, 20];
    let killed = 0;
    for (const [i, n] of points.entries()) {
      // Each point starts like a fresh runner: an empty cache and a new repository.
      const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache(), SHALE_REGISTRY_MIRRORS: `docker.io=${proxy.host}` };
      const ref = `${proxy.host}/demo/killed-${i}:v1`;
      const r = await buildUntil(proxy, ref, env, n, 'SIGKILL');
      if (r.signal === 'SIGKILL') killed++;
      else assert.equal(r.code, 0, `finished before the kill at request ${n}: ${r.stderr}`);
      const again = await shaleJson(['build', app, '--push', ref], env);
      assert.match(again.digest, /^sha256:/);
    }
    assert.ok(killed >= points.length - 1, `${killed} of ${points.length} runs were killed mid-way`);
    const ref = `${ctx.reg.host}/demo/killed-${points.length - 1}:v1`;
    const port = await freePort();
    await withImage(ref, { port, args: ['--port', String(port)] }, async (c) => {
      assert.equal(((await (await fetch(`${c.url}/`)).json()) as { message: string }).message, 'hello from shale');
    });
  } finally {
    await proxy.stop();
  }
});

test('Ctrl-C during an upload: the upload session is DELETEd, exit 130, one line', async () => {
  // The blob PUT stalls, so the SIGINT surely arrives mid-upload.
  const faults: Fault[] = [
    { method: 'PUT', path: /\/blobs\/uploads\//, kind: 'stall' },
    { method: 'POST', path: /[?&]mount=/, kind: 'mount-202' },
  ];
  const proxy = await startFaultProxy(ctx.reg.host, faults);
  try {
    const env = { ...ctx.env, SHALE_REGISTRY_MIRRORS: `docker.io=${proxy.host}` };
    const ref = `${proxy.host}/demo/interrupted:v1`;
    const firstPut = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (proxy.log.some((r) => r.method === 'PUT')) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    const child = spawn(process.execPath, [shaleBin(), 'build', join(repoRoot(), 'examples', 'hello_python'), '--push', ref], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await firstPut;
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await done;
    assert.equal(code, 130, stderr);
    assert.ok(Date.now() - sent < 5_000, 'stopped promptly');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^error: interrupted/);
    assert.ok(
      proxy.log.some((r) => r.method === 'DELETE' && /\/blobs\/uploads\//.test(r.path)),
      'the abandoned upload was DELETEd',
    );
    assert.ok(!proxy.log.some((r) => r.method === 'PUT' && r.path.includes('/manifests/')), 'nothing tagged');
  } finally {
    await proxy.stop();
  }
});
