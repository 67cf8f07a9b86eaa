// The layer cache manifest read on its own (src/publish/layer-cache.ts, src/pipeline/registry-cache.ts):
// what a build takes from it besides layers (the bases' facts), the setting's parsing, and
// the merge when the cache sits in another repository.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noEvents } from '../../../src/events.js';
import { Annotation } from '../../../src/oci/annotations.js';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { MediaType } from '../../../src/oci/types.js';
import { registryLayers } from '../../../src/pipeline/registry-cache.js';
import { LAYER_CACHE_TYPE, parseLayerCache, parseLayerCacheSetting } from '../../../src/publish/layer-cache.js';
import { parseReference } from '../../../src/ref/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { FakeRegistry } from '../support/fake-registry.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

describe('layer cache manifest', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await FakeRegistry.start();
  });
  after(() => reg.close());

  it('gives the build its layers by fingerprint and the facts of its bases, first source first', async () => {
    const blob = reg.putBlob('ci/read', Buffer.from('layer'));
    reg.putBlob('ci/read', Buffer.from('{}'));
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: LAYER_CACHE_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
      layers: [
        {
          mediaType: MediaType.OciLayerGzip,
          digest: blob,
          size: 5,
          annotations: {
            [Annotation.LayerName]: 'app',
            [Annotation.LayerInputs]: 'fp-app',
            [Annotation.CacheDiffId]: D('a'),
            [Annotation.CacheImage]: 'r/ci/read:sha-1',
          },
        },
      ],
      annotations: { [Annotation.CacheBases]: JSON.stringify({ [D('b')]: { [Annotation.BaseLibc]: 'glibc 2.36', [Annotation.BasePython]: '3.11 debian' } }) },
    };
    reg.putManifest('ci/read', canonicalBytes(manifest), MediaType.OciManifest, 'shale-cache');
    const client = new RegistryClient();
    try {
      const found = await registryLayers(client, { targets: [], caches: [parseReference(`${reg.host}/ci/read:shale-cache`)], cacheFrom: [] }, noEvents);
      const app = found.get('fp-app');
      assert.ok(app);
      assert.equal(app.layer.diffId, D('a'));
      assert.deepEqual(app.layer.origin, { registry: reg.host, repository: 'ci/read' });
      assert.deepEqual(
        app.layer.descriptor.annotations,
        { [Annotation.LayerName]: 'app', [Annotation.LayerInputs]: 'fp-app' },
        'cache-only annotations stay out of images',
      );
      assert.equal(app.from, `${reg.host}/ci/read:shale-cache, pushed with r/ci/read:sha-1`);
      assert.deepEqual(found.baseFacts.get(D('b')), { [Annotation.BaseLibc]: 'glibc 2.36', [Annotation.BasePython]: '3.11 debian' });
    } finally {
      await client.close();
    }
  });

  it('refuses an image tagged there and counts damaged entries', () => {
    assert.throws(
      () => parseLayerCache(Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] })), 'x'),
      /x is not usable as a layer cache: it is not a shale layer cache \(artifactType missing\)/,
    );
    const doc = {
      artifactType: LAYER_CACHE_TYPE,
      layers: [
        { digest: 'sha256:zz' },
        { mediaType: 'm', digest: D('c'), size: 1, annotations: { [Annotation.LayerInputs]: 'fp', [Annotation.CacheDiffId]: D('d') } },
      ],
    };
    const parsed = parseLayerCache(Buffer.from(JSON.stringify(doc)), 'x');
    assert.equal(parsed.damaged, 1);
    assert.equal(parsed.entries.length, 1);
  });

  it('parses the setting: off, a tag, a bare repository (tag shale-cache); a digest is bad input', () => {
    assert.equal(parseLayerCacheSetting('--registry-cache', 'off'), false);
    assert.deepEqual(parseLayerCacheSetting('--registry-cache', 'reg.example/team/cache:app'), {
      registry: 'reg.example',
      repository: 'team/cache',
      tag: 'app',
    });
    assert.deepEqual(parseLayerCacheSetting('--registry-cache', 'reg.example:5000/team/cache'), {
      registry: 'reg.example:5000',
      repository: 'team/cache',
      tag: 'shale-cache',
    });
    assert.throws(
      () => parseLayerCacheSetting('--registry-cache', `reg.example/c@${D('e')}`),
      (e: Error & { code?: string; exitCode?: number }) => {
        assert.equal(e.code, 'SHALE_BAD_REFERENCE');
        assert.match(e.message, /^--registry-cache: .* must be a tag/);
        return true;
      },
    );
    assert.throws(() => parseLayerCacheSetting('--registry-cache', 'HTTP://x'), /--registry-cache: invalid image reference/);
  });
});
