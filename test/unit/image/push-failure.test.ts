// A push where one blob fails for good (its retry budget spent) while another is being uploaded:
// the other upload finishes and stays in the registry, no manifest or tag is written, the error
// says what to do, and running the push again sends only what is missing. Fake time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import { sha256 } from '../../../src/oci/digest.js';
import { pushArtifact } from '../../../src/image/remote.js';
import { parseReference } from '../../../src/ref/reference.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { startFlakyProxy } from '../registry/flaky-proxy.js';
import { imageArtifact, testClient } from '../registry/fixture.js';

describe('a push that fails', () => {
  it("keeps the other blobs' finished uploads, writes no manifest, and the next run sends only what is missing", async () => {
    const reg = await FakeRegistry.start();
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 253;
    const small = Buffer.from('the layer that cannot land');
    let broken = true;
    // Every commit of the small layer fails (503) for as long as `broken`.
    const proxy = await startFlakyProxy(reg.host, (req) =>
      broken && req.method === 'PUT' && req.path.includes(encodeURIComponent(sha256(small))) ? { status: 503 } : 'pass',
    );
    const t = await testClient({ options: { chunkBytes: { [proxy.host]: 1 << 20 } } });
    try {
      const target = parseReference(`${proxy.host}/demo/keep:v1`);
      const artifact = imageArtifact([
        { name: 'big', bytes: big },
        { name: 'small', bytes: small },
      ]);
      await assert.rejects(pushArtifact(t.client, target, artifact), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.match(
          err.message,
          new RegExp(
            `^pushing blob ${sha256(small)} to ${proxy.host}/demo/keep: registry answered 503 .*; gave up after \\d+ tries in 6\\d s .*; run the same command again: blobs already pushed are kept, and the tag was not moved$`,
          ),
        );
        return true;
      });
      assert.deepEqual(reg.blobs.get(sha256(big)), big, 'the big layer, uploaded meanwhile, is in the registry');
      assert.ok(reg.repoBlobs.get('demo/keep')?.has(sha256(big)));
      assert.equal(reg.requests('PUT', /\/manifests\//).length, 0, 'no manifest, no tag');
      assert.equal(reg.tags.get('demo/keep'), undefined);

      broken = false;
      const before = proxy.uploadBytes();
      const again = await pushArtifact(t.client, target, artifact);
      const image = artifact.kind === 'image' ? artifact.image : assert.fail('an image');
      assert.equal(
        proxy.uploadBytes() - before,
        small.length + image.configBytes.length,
        'the second run sent the small layer and the config, not the big layer again',
      );
      assert.equal(again.pushedBlobs, 2);
      assert.equal(reg.tags.get('demo/keep')?.get('v1'), again.digest);
    } finally {
      await t.cleanup();
      await proxy.stop();
      await reg.close();
    }
  });
});
