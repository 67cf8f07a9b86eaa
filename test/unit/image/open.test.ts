// openArtifact: one way to open an image or an index wherever it is (registry, OCI layout,
// tarball), read no further than needed, with per-platform selection.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeLayout } from '../../../src/image/layout.js';
import { openArtifact } from '../../../src/image/open.js';
import { loadArtifact } from '../../../src/image/opened.js';
import { pushArtifact } from '../../../src/image/remote.js';
import { writeTarball } from '../../../src/image/tarball.js';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { artifactDigest, artifactImages, imagePlatform, type Artifact } from '../../../src/oci/image.js';
import { MediaType, type ImageIndex } from '../../../src/oci/types.js';
import { parseReference } from '../../../src/ref/reference.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { testClient } from '../registry/fixture.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { tinyImage, tinyIndex, tmp } from '../publish/fixtures.js';

describe('openArtifact', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  let cleanup: () => Promise<void>;
  let index: Artifact;
  before(async () => {
    reg = await FakeRegistry.start();
    ({ client, cleanup } = await testClient());
    index = await tinyIndex();
    await pushArtifact(client, parseReference(`${reg.host}/demo/multi:v1`), index);
    // The same index with a build attestation, as BuildKit pushes them: platform unknown/unknown.
    if (index.kind !== 'index') throw new Error('fixture');
    const attested: ImageIndex = {
      ...index.index.index,
      manifests: [
        ...index.index.index.manifests,
        { mediaType: MediaType.OciManifest, digest: `sha256:${'e'.repeat(64)}`, size: 2, platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    };
    reg.putManifest('demo/multi', canonicalBytes(attested), MediaType.OciIndex, 'attested');
  });
  after(async () => {
    await cleanup();
    await reg.close();
  });
  const ref = (tag: string) => parseReference(`${reg.host}/demo/multi:${tag}`);

  it("opens an index in a registry by reading its index only; a platform's image reads one manifest and one config", async () => {
    const since = reg.log.length;
    const opened = await openArtifact(ref('v1'), { client });
    assert.equal(opened.kind, 'index');
    assert.deepEqual(
      reg.log.slice(since).map((q) => q.method),
      ['GET'],
      'the index, nothing else',
    );

    const arm = await openArtifact(ref('v1'), { client, platform: { os: 'linux', architecture: 'arm64' } });
    if (arm.kind !== 'image') throw new Error(`opened a ${arm.kind}`);
    assert.deepEqual(imagePlatform(arm.image), { os: 'linux', architecture: 'arm64' });
    const gets = reg.log
      .slice(since + 1)
      .filter((q) => q.method === 'GET')
      .map((q) => q.path.replace(/sha256:[a-f0-9]+/, 'D'));
    assert.deepEqual(gets, ['/v2/demo/multi/manifests/v1', '/v2/demo/multi/manifests/D', '/v2/demo/multi/blobs/D'], 'no layer was downloaded');
  });

  it('gives registry layers their repository as origin, and no build provenance', async () => {
    const opened = await openArtifact(ref('v1'), { client, platform: { os: 'linux', architecture: 'amd64' } });
    if (opened.kind !== 'image') throw new Error('kind');
    for (const layer of opened.image.layers) {
      assert.deepEqual(layer.origin, { registry: reg.host, repository: 'demo/multi' });
      assert.deepEqual(Object.keys(layer).sort(), ['descriptor', 'diffId', 'open', 'origin']);
    }
  });

  it('loads every runnable image of an index, leaving attestations out', async () => {
    const all = await loadArtifact(await openArtifact(ref('attested'), { client }));
    assert.deepEqual(
      artifactImages(all).map((i) => i.config.architecture),
      ['amd64', 'arm64'],
    );
    assert.equal(artifactDigest(await loadArtifact(await openArtifact(ref('v1'), { client }))), artifactDigest(index));
  });

  it('names the platforms there are when the one asked for is not', async () => {
    await assert.rejects(openArtifact(ref('v1'), { client, platform: { os: 'linux', architecture: 's390x' } }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_NO_SUCH_PLATFORM');
      assert.match(e.message, /has no linux\/s390x image \(it has: linux\/amd64, linux\/arm64\)/);
      return true;
    });
  });

  it('passes a missing manifest on as the client says it (no cache for a first push)', async () => {
    await assert.rejects(openArtifact(ref('never'), { client }), { name: 'InputError', code: 'SHALE_MANIFEST_UNKNOWN' });
  });

  it('needs a client for a reference', async () => {
    await assert.rejects(openArtifact(ref('v1')), { code: 'SHALE_NO_CLIENT' });
  });

  it('opens layouts and tarballs by path, as the command line names them, or by kind', async () => {
    const dir = await tmp();
    const one = await tinyImage('opened');
    const layout = join(dir, 'layout');
    const tar = join(dir, 'image.tar');
    await writeLayout(layout, one, { tag: 'v1' });
    await writeLayout(layout, index, { tag: 'multi' });
    await writeTarball(tar, index, { repoTags: ['multi:1'] });
    const fromLayout = await openArtifact(layout, { ref: 'v1' });
    assert.equal(fromLayout.kind === 'image' && fromLayout.image.digest, artifactDigest(one));
    const armFromLayout = await openArtifact({ layout }, { ref: 'multi', platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(armFromLayout.kind === 'image' && armFromLayout.image.config.architecture, 'arm64');
    const fromTar = await loadArtifact(await openArtifact(tar));
    assert.equal(artifactDigest(fromTar), artifactDigest(index));
    await assertValidArtifact(fromTar, 'the tarball opened by path');
    const amdFromTar = await openArtifact({ tarball: tar }, { platform: { os: 'linux', architecture: 'amd64' } });
    assert.equal(amdFromTar.kind === 'image' && amdFromTar.image.config.architecture, 'amd64');
    await assert.rejects(
      openArtifact(layout, { ref: 'v1', platform: { os: 'linux', architecture: 'arm64' } }),
      /is a single linux\/amd64 image; it has no linux\/arm64 image/,
    );
  });
});
