// Where each layer of a build comes from, in order of preference (docs/design.md, "Flow of
// shale build", step 4): the local cache, else an earlier image in a registry with the same
// `dev.shale.layer.inputs` fingerprint, else built. The whole pipeline runs against the
// in-process fake registry with an app-only project.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Annotation } from '../../../src/oci/annotations.js';
import { build } from '../../../src/pipeline/build.js';
import { RegistryPublisher } from '../../../src/publish/registry.js';
import { parseReference } from '../../../src/ref/reference.js';
import { noEvents } from '../../../src/events.js';
import { tmp } from '../publish/fixtures.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { appConfig, edit, layerOf, options, project, pushBase, recorder, writes } from './fixtures.js';

describe('layer sources: local cache, then registry by fingerprint, then built', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await FakeRegistry.start();
    await pushBase(reg);
  });
  after(() => reg.close());

  const target = (tag: string) => new RegistryPublisher(parseReference(`${reg.host}/demo/app:${tag}`));
  const manifestOf = (repo: string, tag: string) => {
    const d = reg.tags.get(repo)?.get(tag);
    const m = d ? reg.manifests.get(repo)?.get(d) : undefined;
    assert.ok(m, `${repo}:${tag} was pushed`);
    return JSON.parse(m.bytes.toString('utf8')) as { layers: { digest: string; annotations?: Record<string, string> }[] };
  };

  it('builds what no cache has, and pushes it with the inputs fingerprint on the layer', async () => {
    const spec = await project(appConfig(`${reg.host}/library/python:3.11-slim`), { 'main.py': 'print("v1")\n' });
    const r = await build(spec, options(await tmp(), [target('sources')]), noEvents);
    const app = layerOf(r, 'app');
    assert.equal(app.source, 'built');
    assert.equal(layerOf(r, 'base').source, 'base');
    assert.equal(r.reference, `${reg.host}/demo/app:sources`);
    assert.equal(reg.tags.get('demo/app')?.get('sources'), r.digest);
    const pushed = manifestOf('demo/app', 'sources').layers.find((l) => l.digest === app.digest);
    assert.match(pushed?.annotations?.[Annotation.LayerInputs] ?? '', /^sha256:[a-f0-9]{64}$/);
  });

  it('prefers the local cache to the registry, and the registry to building', async () => {
    const spec = await project(appConfig(`${reg.host}/library/python:3.11-slim`), { 'main.py': 'print("precedence")\n' });
    const warm = await tmp();
    const first = await build(spec, options(warm, [target('precedence')]), noEvents);
    const appDigest = layerOf(first, 'app').digest;

    // The same cache: the layer is the local one, although the tag's image has it too.
    const local = await build(spec, options(warm, [target('precedence')]), noEvents);
    assert.equal(layerOf(local, 'app').source, 'cache');
    assert.equal(layerOf(local, 'app').reason, 'reused from the local cache');

    // An empty cache (a fresh CI runner): the tag's image has a layer with these inputs, so it is
    // reused as it stands there; its bytes are never downloaded.
    const since = reg.log.length;
    const fresh = await build(spec, options(await tmp(), [target('precedence')]), noEvents);
    assert.equal(layerOf(fresh, 'app').source, 'registry');
    assert.match(layerOf(fresh, 'app').reason, /reused from registry \(.*demo\/app:precedence\)/);
    assert.equal(layerOf(fresh, 'app').digest, appDigest);
    assert.equal(fresh.digest, first.digest);
    assert.deepEqual(
      reg.requests('GET', new RegExp(`/blobs/${appDigest}$`)).filter((r) => reg.log.indexOf(r) >= since),
      [],
    );

    // Changed inputs: the registry's layer has another fingerprint, so the layer is built.
    await edit(spec, 'main.py', 'print("precedence, changed")\n');
    const changed = await build(spec, options(await tmp(), [target('precedence')]), noEvents);
    assert.equal(layerOf(changed, 'app').source, 'built');
    assert.notEqual(layerOf(changed, 'app').digest, appDigest);
  });

  it("reuses layers of a --cache-from image as it reuses the push target's", async () => {
    const spec = await project(appConfig(`${reg.host}/library/python:3.11-slim`), { 'main.py': 'print("cache-from")\n' });
    const first = await build(spec, options(await tmp(), [target('cf-1')]), noEvents);
    const again = await build(spec, options(await tmp(), [target('cf-2')], { cacheFrom: [parseReference(`${reg.host}/demo/app:cf-1`)] }), noEvents);
    assert.equal(layerOf(again, 'app').source, 'registry');
    assert.match(layerOf(again, 'app').reason, /demo\/app:cf-1/);
    assert.equal(again.digest, first.digest);
    assert.equal(again.pushed.blobs, 0, 'the repository holds every blob already');
    assert.equal(reg.tags.get('demo/app')?.get('cf-2'), first.digest);
  });

  it('with noCache builds every layer and reads no earlier image', async () => {
    const spec = await project(appConfig(`${reg.host}/library/python:3.11-slim`), { 'main.py': 'print("no cache")\n' });
    const warm = await tmp();
    await build(spec, options(warm, [target('nocache')]), noEvents);
    const since = reg.log.length;
    const r = await build(spec, options(warm, [target('nocache')], { noCache: true }), noEvents);
    assert.equal(layerOf(r, 'app').source, 'built');
    assert.equal(layerOf(r, 'app').reason, 'built (--no-cache)');
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.method === 'GET' && q.path.endsWith('/manifests/nocache')),
      [],
    );
  });

  it('a second build with nothing changed builds nothing and sends nothing', async () => {
    const spec = await project(appConfig(`${reg.host}/library/python:3.11-slim`), { 'main.py': 'print("again")\n' });
    const cache = await tmp();
    const first = await build(spec, options(cache, [target('again')]), noEvents);
    assert.ok(first.pushed.blobs > 0);

    const since = reg.log.length;
    const { events, seen } = recorder();
    const second = await build(spec, options(cache, [target('again')]), events);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(
      second.layers.filter((l) => l.source === 'built'),
      [],
    );
    assert.deepEqual(
      seen.filter((e) => e.type === 'layer' && e.status === 'building'),
      [],
    );
    assert.deepEqual(second.pushed, { bytes: 0, blobs: 0 });
    assert.deepEqual(writes(reg, since), [], 'no upload, mount or manifest');
    assert.ok(seen.some((e) => e.type === 'log' && /demo\/app:again is up to date/.test(e.message)));
    assert.deepEqual(second.outputs, [`${reg.host}/demo/app:again`]);
  });
});
