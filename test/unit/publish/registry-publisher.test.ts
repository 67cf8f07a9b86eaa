// RegistryPublisher: the registry target of a build. Early uploads, "the tag already names this
// image: nothing sent", and the blobs of the tag's current image taken as present (no HEAD).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { noEvents } from '../../../src/events.js';
import { artifactDigest, artifactImages } from '../../../src/oci/image.js';
import { RegistryPublisher } from '../../../src/publish/registry.js';
import type { TargetImage } from '../../../src/publish/publisher.js';
import { parseReference, referenceString, type Reference } from '../../../src/ref/reference.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import { openArtifact } from '../../../src/image/open.js';
import { loadArtifact } from '../../../src/image/opened.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { testClient } from '../registry/fixture.js';
import { tinyImage, tinyIndex } from './fixtures.js';

describe('RegistryPublisher', () => {
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

  const started = (ref: Reference, current?: TargetImage, events: (e: ShaleEvent) => void = noEvents): RegistryPublisher => {
    const p = new RegistryPublisher(ref, { name: `as given: ${referenceString(ref)}` });
    p.start({ client, events, current: (r) => (referenceString(r) === referenceString(ref) ? current : undefined) });
    return p;
  };

  it('names its reference as the one to read first, and reports the name it was given', async () => {
    const ref = parseReference(`${reg.host}/demo/named:v1`);
    const p = started(ref);
    assert.deepEqual(p.previous, [ref]);
    const report = await p.publish(await tinyImage('named'), noEvents);
    assert.deepEqual(report.outputs, [`as given: ${reg.host}/demo/named:v1`]);
    assert.equal(report.reference, `${reg.host}/demo/named:v1`);
    assert.deepEqual(report.pushed.blobs, 3);
    await assertValidArtifact(await loadArtifact(await openArtifact(ref, { client })), 'the image read back from the registry');
  });

  it('pushes an index that reads back whole: every platform, shared layers once', async () => {
    const ref = parseReference(`${reg.host}/demo/multi:v1`);
    const art = await tinyIndex();
    const report = await started(ref).publish(art, noEvents);
    assert.equal(report.pushed.blobs, 5, '3 layers (one shared) and 2 configs; manifests are not blobs');
    const back = await loadArtifact(await openArtifact(ref, { client }));
    assert.equal(artifactDigest(back), artifactDigest(art));
    await assertValidArtifact(back, 'the index read back from the registry');
  });

  it('uploads a layer as soon as it is told of it', async () => {
    const ref = parseReference(`${reg.host}/demo/early:v1`);
    const art = await tinyImage('early');
    const p = started(ref);
    const [first] = artifactImages(art)[0]!.layers;
    p.layer(first!);
    const uploaded = async (): Promise<boolean> => reg.repoBlobs.get('demo/early')?.has(first!.descriptor.digest) === true;
    for (let i = 0; i < 200 && !(await uploaded()); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(await uploaded(), 'the layer is in the registry before publish');
    assert.equal(reg.tags.get('demo/early'), undefined, 'and no tag yet');
    const report = await p.publish(art, noEvents);
    assert.equal(report.pushed.blobs, 3, 'each blob once');
  });

  it('sends nothing when the tag already names the image', async () => {
    const ref = parseReference(`${reg.host}/demo/same:v1`);
    const art = await tinyImage('same');
    await started(ref).publish(art, noEvents);
    const since = reg.log.length;
    const events: ShaleEvent[] = [];
    const report = await started(ref, { digest: artifactDigest(art), blobs: new Set() }, (e) => events.push(e)).publish(art, (e) => events.push(e));
    assert.deepEqual(reg.log.slice(since), []);
    assert.deepEqual(report.pushed, { bytes: 0, blobs: 0 });
    assert.ok(events.some((e) => e.type === 'log' && e.message === `as given: ${reg.host}/demo/same:v1 is up to date`));
  });

  it("asks no HEAD for the blobs the tag's current image references", async () => {
    const ref = parseReference(`${reg.host}/demo/present:v1`);
    const one = await tinyImage('present');
    await started(ref).publish(one, noEvents);
    const image = artifactImages(one)[0]!;
    const blobs = new Set([image.manifest.config.digest, ...image.layers.map((l) => l.descriptor.digest)]);
    const since = reg.log.length;
    const two = { kind: 'image' as const, image: { ...image, digest: image.digest.replace(/.$/, '0') as typeof image.digest } };
    await started(ref, { digest: image.digest.replace(/.$/, '1') as typeof image.digest, blobs }).publish(two, noEvents);
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.method === 'HEAD'),
      [],
    );
  });

  it('refuses to publish before it was started', async () => {
    const p = new RegistryPublisher(parseReference(`${reg.host}/demo/unstarted:v1`));
    await assert.rejects(async () => p.publish(await tinyImage(), noEvents), { code: 'SHALE_PUBLISHER_NOT_STARTED' });
  });
});
