// oci/mutate: pure changes to images, each a new image with its bytes and digest made again.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Annotation } from '../../../src/oci/annotations.js';
import { lazyLayer, type Layer } from '../../../src/oci/image.js';
import { annotate, appendLayers, ociImage, ociIndex, setConfig } from '../../../src/oci/mutate.js';
import { MediaType, type Digest, type ImageConfig } from '../../../src/oci/types.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { makeLayer } from '../publish/fixtures.js';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const config = (ids: Digest[]): ImageConfig => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ids } });
const never = (): Promise<Readable> => Promise.reject(new Error('not opened'));

describe('oci/mutate', () => {
  it('ociImage writes an OCI manifest: Docker gzip layers become OCI gzip, the same blob', () => {
    const docker: Layer = lazyLayer({ mediaType: MediaType.DockerLayerGzip, digest: d('a'), size: 3 }, d('1'), never, { registry: 'r', repository: 'x' });
    const img = ociImage(config([d('1')]), [docker]);
    assert.equal(img.manifest.mediaType, MediaType.OciManifest);
    assert.equal(img.manifest.config.mediaType, MediaType.OciConfig);
    assert.equal(img.manifest.layers[0]?.mediaType, MediaType.OciLayerGzip);
    assert.equal(img.layers[0]?.descriptor.mediaType, MediaType.OciLayerGzip);
    assert.deepEqual(img.layers[0]?.origin, { registry: 'r', repository: 'x' }, 'where it can be mounted from is kept');
    assert.equal('annotations' in img.manifest, false);
  });

  it("ociImage refuses a config whose diff_ids are not its layers'", () => {
    assert.throws(() => ociImage(config([d('2')]), [lazyLayer({ mediaType: MediaType.OciLayerGzip, digest: d('a'), size: 3 }, d('1'), never)]), {
      code: 'SHALE_IMAGE_INCONSISTENT',
    });
  });

  it('appendLayers adds diff_ids and one history entry per layer; annotate and setConfig keep the rest', async () => {
    const base = await makeLayer('base', { 'etc/os-release': 'ID=x\n' });
    const app = await makeLayer('app', { 'app/main.py': 'print(1)\n' });
    const start = annotate(ociImage({ ...config([base.diffId]), history: [{ created_by: 'base' }] }, [base]), { a: '1' });
    const appended = appendLayers(start, [{ layer: app, history: { created_by: 'shale: app' } }]);
    assert.deepEqual(appended.config.rootfs.diff_ids, [base.diffId, app.diffId]);
    assert.deepEqual(
      appended.config.history?.map((h) => h.created_by),
      ['base', 'shale: app'],
    );
    assert.deepEqual(appended.manifest.annotations, { a: '1' });
    const renamed = annotate(appended, { a: '2', [Annotation.Created]: '1970-01-01T00:00:00Z' });
    assert.deepEqual(renamed.manifest.annotations, { a: '2', [Annotation.Created]: '1970-01-01T00:00:00Z' });
    assert.notEqual(renamed.digest, appended.digest);
    const configured = setConfig(renamed, { ...renamed.config, config: { Cmd: ['/bin/true'] } });
    assert.equal(configured.manifest.annotations?.['a'], '2');
    assert.deepEqual(
      configured.layers.map((l) => l.descriptor.digest),
      [base.descriptor.digest, app.descriptor.digest],
    );
    await assertValidArtifact({ kind: 'image', image: configured });
    // The same parts give the same digest.
    assert.equal(appendLayers(start, [{ layer: app, history: { created_by: 'shale: app' } }]).digest, appended.digest);
  });

  it('ociIndex lists each image with the platform its config names', async () => {
    const l = await makeLayer('x', { x: 'x' });
    const arm = ociImage({ ...config([l.diffId]), architecture: 'arm64', variant: 'v8' }, [l]);
    const amd = ociImage(config([l.diffId]), [l]);
    const index = ociIndex([amd, arm], { [Annotation.Created]: 'now' });
    assert.deepEqual(
      index.index.manifests.map((m) => m.platform),
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    );
    await assertValidArtifact({ kind: 'index', index });
  });
});
