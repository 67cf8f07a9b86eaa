// Self-test of the e2e infrastructure: if this fails, the machine (not shale) is at fault, and
// every other e2e failure should be read in that light.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureBaseImage, ensureBaseLayout } from './support/base-image.js';
import { run } from './support/exec.js';
import { podmanRun, removeImages, skopeoInspect, umociStat } from './support/podman.js';
import { startRegistry, type Registry } from './support/registry.js';

describe('e2e support: registry, base image, podman', () => {
  let registry: Registry;
  let base: { ref: string; digest: string };

  before(async () => {
    registry = await startRegistry();
    base = await ensureBaseImage(registry.host);
  });
  after(async () => {
    if (base) await removeImages(base.ref);
    await registry?.stop();
  });

  it('serves the base image as library/python:3.11-slim', async () => {
    assert.equal(base.ref, `${registry.host}/library/python:3.11-slim`);
    const info = await skopeoInspect(base.ref);
    assert.equal(info.Digest, base.digest);
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
    assert.equal(info.Layers.length, 1);
    assert.ok(info.Env?.some((e) => e.startsWith('PATH=/usr/local/sbin:')));
  });

  it('has a layout that umoci reads', async () => {
    const layout = await ensureBaseLayout();
    const stat = await umociStat(layout.dir, layout.tag);
    assert.equal(stat.history.length, 1);
    assert.match(stat.history[0]?.created_by ?? '', /^mmdebstrap /);
  });

  it('runs Debian python3 under podman', async () => {
    const r = await podmanRun(base.ref, ['python3', '-c', 'import sys, ssl; print(1+1, sys.version_info[:2])']);
    assert.equal(r.stdout.trim(), '2 (3, 11)');
  });
});

describe('e2e support: registry with htpasswd and TLS', () => {
  const creds = { user: 'shale', password: 's3cret-pw' };
  let registry: Registry;

  before(async () => {
    registry = await startRegistry({ htpasswd: creds, tls: true });
  });
  after(async () => {
    await registry?.stop();
  });

  it('refuses anonymous access', async () => {
    assert.ok(registry.caFile);
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', registry.caFile, `${registry.url}/v2/`]);
    assert.equal(r.stdout, '401');
  });

  it('refuses an anonymous push and accepts an authenticated one', async () => {
    await assert.rejects(ensureBaseImage(registry.host), /unauthorized|authentication required|401/i);
    const pushed = await ensureBaseImage(registry.host, { creds, repository: 'private/python' });
    const info = await skopeoInspect(pushed.ref, { creds });
    assert.equal(info.Digest, pushed.digest);
  });
});
