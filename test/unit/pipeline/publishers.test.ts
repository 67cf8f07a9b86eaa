// How the pipeline hands its artifact to publishers: started first, told of each layer as it
// exists (so a registry uploads early), then given the finished artifact, in the order listed;
// a publisher that fails leaves the registry tag where it was.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noEvents, type Events } from '../../../src/events.js';
import { artifactDigest, artifactImages, type Artifact, type Layer } from '../../../src/oci/image.js';
import { build } from '../../../src/pipeline/build.js';
import { readLayout } from '../../../src/image/layout.js';
import { LayoutPublisher } from '../../../src/publish/layout.js';
import { MultiPublisher } from '../../../src/publish/multi.js';
import type { PublishReport, PublishSession, Publisher } from '../../../src/publish/publisher.js';
import { RegistryPublisher } from '../../../src/publish/registry.js';
import { readTarball } from '../../../src/image/tarball.js';
import { TarballPublisher } from '../../../src/publish/tarball.js';
import { parseReference } from '../../../src/ref/reference.js';
import { openArtifact } from '../../../src/image/open.js';
import { loadArtifact } from '../../../src/image/opened.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { tmp } from '../publish/fixtures.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { appConfig, edit, options, project, pushBase, recorder } from './fixtures.js';

/** A publisher that writes down what it is told, in order. */
class Recording implements Publisher {
  readonly target = 'recording';
  readonly calls: string[] = [];
  artifact: Artifact | undefined;
  start(session: PublishSession): void {
    this.calls.push(`start ${session.current(parseReference('example.com/x:1')) === undefined ? 'nothing' : 'something'} there`);
  }
  layer(l: Layer): void {
    this.calls.push(`layer ${l.descriptor.digest}`);
  }
  publish(artifact: Artifact, _events: Events): Promise<PublishReport> {
    this.calls.push('publish');
    this.artifact = artifact;
    return Promise.resolve({ outputs: ['recorded'], pushed: { bytes: 0, blobs: 0 } });
  }
}

describe('publishers of a build', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await FakeRegistry.start();
    await pushBase(reg);
  });
  after(() => reg.close());
  const base = () => `${reg.host}/library/python:3.11-slim`;
  const at = (repoTag: string) => new RegistryPublisher(parseReference(`${reg.host}/${repoTag}`));

  it('starts a publisher, tells it of every layer, then gives it the artifact', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("recorded")\n' });
    const p = new Recording();
    const r = await build(spec, options(await tmp(), [p]), noEvents);
    assert.ok(p.artifact);
    assert.equal(artifactDigest(p.artifact), r.digest);
    assert.deepEqual(r.outputs, ['recorded']);
    assert.equal(r.reference, undefined);
    const layers = artifactImages(p.artifact).flatMap((i) => i.layers.map((l) => `layer ${l.descriptor.digest}`));
    assert.equal(p.calls[0], 'start nothing there');
    assert.deepEqual(p.calls.slice(1, -1).sort(), [...layers].sort());
    assert.equal(p.calls.at(-1), 'publish');
  });

  it('with no publisher, builds and reports the digest but writes nothing', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("nowhere")\n' });
    const r = await build(spec, options(await tmp(), []), noEvents);
    assert.match(r.digest, /^sha256:/);
    assert.deepEqual(r.outputs, []);
  });

  it('publishes to several targets: registry, layout and tarball hold the same image', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("everywhere")\n' });
    const dir = await tmp();
    const layout = join(dir, 'layout');
    const tar = join(dir, 'image.tar');
    const { events, seen } = recorder();
    const publishers = [at('demo/multi:v1'), new LayoutPublisher(layout, { tag: 'v1' }), new TarballPublisher(tar, { repoTags: ['demo/multi:v1'] })];
    const r = await build(spec, options(await tmp(), publishers), events);
    assert.deepEqual(r.outputs, [`${reg.host}/demo/multi:v1`, layout, tar]);
    assert.equal(r.reference, `${reg.host}/demo/multi:v1`);
    assert.equal(reg.tags.get('demo/multi')?.get('v1'), r.digest);
    const client = new RegistryClient();
    try {
      const copies = {
        registry: await loadArtifact(await openArtifact(parseReference(`${reg.host}/demo/multi:v1`), { client })),
        layout: await readLayout(layout, 'v1'),
        tarball: await readTarball(tar),
      };
      for (const [where, copy] of Object.entries(copies)) {
        assert.equal(artifactDigest(copy), r.digest, where);
        await assertValidArtifact(copy, `the image in the ${where}`);
      }
    } finally {
      await client.close();
    }
    // The base layer lives in the same registry: mounted, not sent; the app layer and config are.
    assert.ok(seen.some((e) => e.type === 'upload' && e.status === 'mounted' && e.name === 'base'));
    assert.equal(r.pushed.blobs, 2);
    assert.deepEqual(
      seen
        .filter((e) => e.type === 'step')
        .map((e) => e.type === 'step' && e.step)
        .slice(-3),
      ['pushing', 'writing OCI layout', 'writing tarball'],
    );
  });

  it('a push that fails leaves the tag where it was', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("v1")\n' });
    const first = await build(spec, options(await tmp(), [at('demo/failing:v1')]), noEvents);
    await edit(spec, 'main.py', 'print("v2")\n');
    reg.fail('POST', /^\/v2\/demo\/failing\/blobs\/uploads\/$/, 403, 10);
    const since = reg.log.length;
    await assert.rejects(build(spec, options(await tmp(), [at('demo/failing:v1')]), noEvents), (err: Error) => !/--push/.test(err.message));
    assert.equal(reg.tags.get('demo/failing')?.get('v1'), first.digest);
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.method === 'PUT' && q.path.includes('/manifests/')),
      [],
    );
  });

  it('a publisher that fails before the registry leaves the tag where it was', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("one")\n' });
    const first = await build(spec, options(await tmp(), [at('demo/ordered:v1')]), noEvents);
    await edit(spec, 'main.py', 'print("two")\n');
    const file = join(await tmp(), 'a-file');
    await writeFile(file, 'not a directory\n');
    const publishers = new MultiPublisher([new LayoutPublisher(join(file, 'layout')), at('demo/ordered:v1')]);
    await assert.rejects(build(spec, options(await tmp(), [publishers]), noEvents));
    assert.equal(reg.tags.get('demo/ordered')?.get('v1'), first.digest);
  });
});
