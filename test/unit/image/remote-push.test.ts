import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { pushArtifact } from '../../../src/image/remote.js';
import { parseReference } from '../../../src/ref/reference.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { imageArtifact, indexArtifact, opened, testClient } from '../registry/fixture.js';

describe('pushArtifact', () => {
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
  beforeEach(() => opened.clear());

  it('pushes blobs, then configs, then manifests by digest, then the index to the tag last', async () => {
    const artifact = indexArtifact(
      [{ name: 'app', bytes: Buffer.from('app layer') }],
      [{ name: 'native-amd64', bytes: Buffer.from('amd64 wheels') }],
      [{ name: 'native-arm64', bytes: Buffer.from('arm64 wheels!') }],
    );
    const events: ShaleEvent[] = [];
    const target = parseReference(`${reg.host}/demo/app:v1`);
    const result = await pushArtifact(client, target, artifact, (e) => events.push(e));
    assert.equal(artifact.kind, 'index');
    if (artifact.kind !== 'index') return;
    assert.equal(result.digest, artifact.index.digest);
    assert.equal(reg.tags.get('demo/app')?.get('v1'), artifact.index.digest);

    const writes = reg.log.filter((r) => r.method === 'PUT').map((r) => r.path);
    const kind = (p: string): string => (p.includes('/manifests/sha256:') ? 'child' : p.includes('/manifests/') ? 'tag' : 'blob');
    const configs = new Set(artifact.index.images.map((i) => i.manifest.config.digest));
    const blobKinds = reg.log
      .filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'))
      .map((r) => (configs.has(decodeURIComponent(/digest=([^&]+)/.exec(r.query)?.[1] ?? '') as `sha256:${string}`) ? 'config' : 'layer'));
    assert.deepEqual(blobKinds, ['layer', 'layer', 'layer', 'config', 'config']);
    assert.deepEqual(writes.map(kind), ['blob', 'blob', 'blob', 'blob', 'blob', 'child', 'child', 'tag']);
    assert.equal(writes.at(-1), '/v2/demo/app/manifests/v1');

    // The shared app layer is one blob, uploaded once.
    assert.equal(opened.get('app'), 1);
    const layerBytes = 'app layer'.length + 'amd64 wheels'.length + 'arm64 wheels!'.length;
    const configBytes = artifact.index.images.reduce((n, i) => n + i.configBytes.length, 0);
    assert.deepEqual({ bytes: result.pushedBytes, blobs: result.pushedBlobs }, { bytes: layerBytes + configBytes, blobs: 5 });
    assert.equal(reg.bytesReceived, layerBytes + configBytes);
    const done = events.filter((e) => e.type === 'upload' && e.status === 'done');
    assert.equal(done.length, 5);

    // A second push sends nothing but manifests.
    const before2 = reg.bytesReceived;
    const again = await pushArtifact(client, target, artifact);
    assert.deepEqual({ bytes: again.pushedBytes, blobs: again.pushedBlobs }, { bytes: 0, blobs: 0 });
    assert.equal(reg.bytesReceived, before2);
  });

  it('mounts base layers from their origin repository on the same registry, uploads when refused', async () => {
    const baseBytes = Buffer.from('debian rootfs');
    reg.putBlob('library/python', baseBytes);
    const origin = { registry: reg.host, repository: 'library/python' };
    const artifact = imageArtifact([
      { name: 'base', bytes: baseBytes, origin },
      { name: 'app', bytes: Buffer.from('app v2') },
    ]);
    const events: ShaleEvent[] = [];
    const r1 = await pushArtifact(client, parseReference(`${reg.host}/demo/mounted:v1`), artifact, (e) => events.push(e));
    assert.ok(events.some((e) => e.type === 'upload' && e.name === 'base' && e.status === 'mounted'));
    assert.equal(opened.get('base'), undefined, 'a mounted layer is never read');
    assert.equal(r1.pushedBlobs, 2, 'app layer and config');

    reg.refuseMounts = true;
    const r2 = await pushArtifact(client, parseReference(`${reg.host}/demo/refused:v1`), artifact);
    reg.refuseMounts = false;
    assert.equal(opened.get('base'), 1, 'uploaded after the refused mount');
    assert.equal(r2.pushedBlobs, 3);
    // Into the session the 202 opened: one POST per blob (the mount's for the base), nothing DELETEd.
    assert.equal(reg.requests('POST', /^\/v2\/demo\/refused\/blobs\/uploads\/$/).length, 3);
    assert.equal(reg.requests('DELETE', /^\/v2\/demo\/refused\//).length, 0);
    assert.equal(reg.tags.get('demo/refused')?.get('v1'), r2.digest);
  });

  it('does not mount from another registry', async () => {
    const artifact = imageArtifact([
      { name: 'base', bytes: Buffer.from('other registry base'), origin: { registry: 'docker.io', repository: 'library/python' } },
    ]);
    await pushArtifact(client, parseReference(`${reg.host}/demo/cross:v1`), artifact);
    assert.equal(reg.log.filter((r) => r.query.includes('mount=')).filter((r) => r.path.includes('demo/cross')).length, 0);
    assert.equal(opened.get('base'), 1);
  });

  it('leaves the tag untouched when a blob upload fails', async () => {
    const target = parseReference(`${reg.host}/demo/safe:v1`);
    const first = await pushArtifact(client, target, imageArtifact([{ name: 'app', bytes: Buffer.from('v1') }]));
    reg.fail('PUT', /\/v2\/demo\/safe\/blobs\/uploads\//, 400, 1);
    await assert.rejects(
      pushArtifact(client, target, imageArtifact([{ name: 'app', bytes: Buffer.from('v2') }])),
      new RegExp(`pushing blob sha256:[a-f0-9]{64} to ${reg.host}/demo/safe: registry answered 400`),
    );
    assert.equal(reg.tags.get('demo/safe')?.get('v1'), first.digest);
    assert.equal(reg.requests('PUT', /\/v2\/demo\/safe\/manifests\//).length, 1, 'no manifest write after the failure');
  });

  it('refuses a target digest that is not the artifact', async () => {
    const artifact = imageArtifact([{ name: 'app', bytes: Buffer.from('d') }]);
    await assert.rejects(pushArtifact(client, parseReference(`${reg.host}/demo/d@sha256:${'0'.repeat(64)}`), artifact), /the image's digest is/);
  });
});
