// The repository's layer cache (src/publish/layer-cache.ts): a push records its layers in
// REPO:shale-cache, and a build pushing to any tag of REPO, on a runner with an empty local
// cache, reuses them without building, downloading or uploading them. Against the in-process
// fake registry, which (like distribution) refuses a manifest that names a blob it lacks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noEvents, type ShaleEvent } from '../../../src/events.js';
import { Annotation } from '../../../src/oci/annotations.js';
import { MediaType } from '../../../src/oci/types.js';
import { build } from '../../../src/pipeline/build.js';
import { LAYER_CACHE_TYPE, parseLayerCache } from '../../../src/publish/layer-cache.js';
import { RegistryPublisher } from '../../../src/publish/registry.js';
import { parseReference, type Reference } from '../../../src/ref/reference.js';
import { tmp } from '../publish/fixtures.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { appConfig, edit, layerOf, options, project, pushBase, recorder, writes } from './fixtures.js';

describe('layer cache: reuse from the repository whatever the tag', () => {
  let reg: FakeRegistry;
  before(async () => {
    reg = await FakeRegistry.start();
    await pushBase(reg);
  });
  after(() => reg.close());

  const base = () => `${reg.host}/library/python:3.11-slim`;
  const ref = (s: string): Reference => parseReference(`${reg.host}/${s}`);
  const target = (repoTag: string, layerCache?: Reference | false) => new RegistryPublisher(ref(repoTag), layerCache === undefined ? {} : { layerCache });
  /** The cache manifest at repo:tag, parsed; fails when there is none. */
  const cacheAt = (repo: string, tag = 'shale-cache') => {
    const d = reg.tags.get(repo)?.get(tag);
    const m = d ? reg.manifests.get(repo)?.get(d) : undefined;
    assert.ok(m, `${repo}:${tag} exists`);
    return { raw: JSON.parse(m.bytes.toString('utf8')) as Record<string, unknown>, parsed: parseLayerCache(m.bytes, `${repo}:${tag}`) };
  };
  const warnings = (seen: ShaleEvent[]) => seen.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
  /** Two shale layers without Python packages: the host's CA bundle and the app. */
  const twoLayerConfig = () => appConfig(base(), 'ca-certs = true\n');

  it('a push to a new tag, with an empty local cache, reuses every layer an earlier push made', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("sha-1")\n' });
    const first = await build(spec, options(await tmp(), [target('ci/app:sha-1')]), noEvents);
    assert.equal(layerOf(first, 'app').source, 'built');

    // The cache manifest: an OCI manifest with an empty config, listing the app layer with its fingerprint and diff ID.
    const { raw, parsed } = cacheAt('ci/app');
    assert.equal(raw.artifactType, LAYER_CACHE_TYPE);
    assert.equal(raw.mediaType, MediaType.OciManifest);
    assert.deepEqual(raw.config, {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    });
    assert.equal(parsed.entries.length, 1);
    assert.equal(parsed.entries[0]!.descriptor.digest, layerOf(first, 'app').digest);
    assert.equal(parsed.entries[0]!.image, `${reg.host}/ci/app:sha-1`);
    assert.equal(parsed.entries[0]!.descriptor.annotations?.[Annotation.LayerName], 'app');
    assert.equal(parsed.bases.size, 1, 'the base facts are kept, so a fresh runner need not read the base layer');

    // A fresh runner, a new commit tag, nothing changed: nothing built, nothing uploaded, only manifests read.
    const since = reg.log.length;
    const second = await build(spec, options(await tmp(), [target('ci/app:sha-2')]), noEvents);
    assert.equal(second.digest, first.digest);
    const app = layerOf(second, 'app');
    assert.equal(app.source, 'registry');
    assert.equal(app.reason, `reused from registry (${reg.host}/ci/app:shale-cache, pushed with ${reg.host}/ci/app:sha-1)`);
    assert.equal(second.pushed.blobs, 0);
    assert.equal(reg.tags.get('ci/app')?.get('sha-2'), first.digest);
    // Configs are read (the base's: the image is made on it); no layer is downloaded, not the app's nor the base's.
    const baseManifest = reg.manifests.get('library/python')!.get(reg.tags.get('library/python')!.get('3.11-slim')!)!;
    const baseLayer = (JSON.parse(baseManifest.bytes.toString('utf8')) as { layers: { digest: string }[] }).layers[0]!.digest;
    const blobGets = reg.log
      .slice(since)
      .filter((q) => q.method === 'GET' && q.path.includes('/blobs/'))
      .map((q) => q.path);
    assert.ok(!blobGets.some((p) => p.endsWith(baseLayer) || p.endsWith(app.digest)), blobGets.join('\n'));
    // The cache's manifest references the app layer, so the repository holds it: not even a HEAD.
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.method === 'HEAD' && q.path.endsWith(app.digest)),
      [],
    );
    // Only the tag's manifest was written; the cache already lists these layers first.
    assert.deepEqual(
      writes(reg, since).map((q) => q.path),
      ['/v2/ci/app/manifests/sha-2'],
    );
  });

  it('a one-line change on a fresh runner builds and uploads only the changed layer', async () => {
    const spec = await project(twoLayerConfig(), { 'main.py': 'print("one")\n' });
    const first = await build(spec, options(await tmp(), [target('ci/two:a')]), noEvents);
    assert.equal(layerOf(first, 'ca-certs').source, 'built');
    await edit(spec, 'main.py', 'print("two")\n');
    const since = reg.log.length;
    const second = await build(spec, options(await tmp(), [target('ci/two:b')]), noEvents);
    assert.equal(layerOf(second, 'ca-certs').source, 'registry');
    assert.equal(layerOf(second, 'app').source, 'built');
    assert.equal(second.pushed.blobs, 2, 'the app layer and the config');
    // The new app layer leads the cache, the older entries follow.
    const names = cacheAt('ci/two').parsed.entries.map((e) => e.descriptor.digest);
    assert.deepEqual(names, [layerOf(second, 'app').digest, layerOf(second, 'ca-certs').digest, layerOf(first, 'app').digest]);
    assert.ok(writes(reg, since).some((q) => q.path === '/v2/ci/two/manifests/shale-cache'));
  });

  it('two builds pushing at once both succeed and leave a valid cache whose blobs all exist', async () => {
    const specs = await Promise.all(['a', 'b', 'c'].map((n) => project(appConfig(base()), { 'main.py': `print("concurrent ${n}")\n` })));
    const results = await Promise.all(specs.map(async (s, i) => build(s, options(await tmp(), [target(`ci/conc:t${i}`)]), noEvents)));
    const { parsed } = cacheAt('ci/conc');
    assert.equal(parsed.damaged, 0);
    assert.ok(parsed.entries.length >= 1, "at least one writer's entries survive");
    for (const e of parsed.entries) {
      assert.ok(reg.repoBlobs.get('ci/conc')?.has(e.descriptor.digest), `${e.descriptor.digest} is in the repository`);
      assert.ok(results.some((r) => layerOf(r, 'app').digest === e.descriptor.digest));
    }
    // Whatever the cache kept is reused by the next fresh build of that app.
    const kept = results.findIndex((r) => layerOf(r, 'app').digest === parsed.entries[0]!.descriptor.digest);
    const again = await build(specs[kept]!, options(await tmp(), [target('ci/conc:next')]), noEvents);
    assert.equal(layerOf(again, 'app').source, 'registry');
  });

  it('keeps at most the bound of entries, the newest first', async () => {
    // The bound is 100: 101 pushes of distinct apps to one repository.
    const spec = await project(appConfig(base()), { 'main.py': 'print(0)\n' });
    const cache = await tmp();
    const digests: string[] = [];
    for (let i = 0; i < 101; i++) {
      await edit(spec, 'main.py', `print(${i})\n`);
      const r = await build(spec, options(cache, [target(`ci/bound:v${i}`)]), noEvents);
      digests.push(layerOf(r, 'app').digest);
    }
    const { parsed } = cacheAt('ci/bound');
    assert.equal(parsed.entries.length, 100);
    assert.equal(parsed.entries[0]!.descriptor.digest, digests[100]);
    assert.ok(!parsed.entries.some((e) => e.descriptor.digest === digests[0]), 'the oldest entry fell off');
    const bytes = reg.manifests.get('ci/bound')?.get(reg.tags.get('ci/bound')!.get('shale-cache')!)?.bytes.length ?? 0;
    assert.ok(bytes < 64 * 1024, `the cache manifest stays small (${bytes} bytes)`);
  });

  it('a foreign manifest at the cache tag is ignored with a warning and left as it is', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("foreign")\n' });
    const first = await build(spec, options(await tmp(), [target('ci/foreign:one')]), noEvents);
    // Someone tags an ordinary image as shale-cache.
    const image = reg.manifests.get('ci/foreign')!.get(first.digest)!;
    reg.putManifest('ci/foreign', image.bytes, MediaType.OciManifest, 'shale-cache');
    const { events, seen } = recorder();
    const r = await build(spec, options(await tmp(), [target('ci/foreign:two')]), events);
    assert.equal(layerOf(r, 'app').source, 'built', 'the foreign manifest offered nothing');
    assert.equal(reg.tags.get('ci/foreign')?.get('two'), r.digest, 'the push itself succeeded');
    const w = warnings(seen);
    assert.ok(
      w.some((m) => /cannot use the layer cache .*ci\/foreign:shale-cache.*not a shale layer cache/.test(m)),
      w.join('\n'),
    );
    assert.ok(
      w.some((m) => /holds something that is not shale's layer cache; left as it is/.test(m)),
      w.join('\n'),
    );
    assert.equal(reg.tags.get('ci/foreign')?.get('shale-cache'), first.digest, 'not overwritten');
  });

  it('damaged entries are left out with a warning, the good ones reused, and the next push rewrites it', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("damaged")\n' });
    await build(spec, options(await tmp(), [target('ci/damaged:one')]), noEvents);
    const { raw } = cacheAt('ci/damaged');
    const layers = raw.layers as Record<string, unknown>[];
    const broken = { ...raw, layers: [{ mediaType: MediaType.OciLayerGzip, digest: 'sha256:nothex', size: -1 }, ...layers] };
    reg.putManifest('ci/damaged', Buffer.from(JSON.stringify(broken)), MediaType.OciManifest, 'shale-cache');
    const { events, seen } = recorder();
    const r = await build(spec, options(await tmp(), [target('ci/damaged:two')]), events);
    assert.equal(layerOf(r, 'app').source, 'registry');
    assert.ok(
      warnings(seen).some((m) => /layer cache .*ci\/damaged:shale-cache has 1 damaged entry/.test(m)),
      warnings(seen).join('\n'),
    );
    assert.equal(cacheAt('ci/damaged').parsed.damaged, 0, 'rewritten whole');

    // Not JSON at all (a registry that lost the bytes): ignored with a warning, then rewritten.
    reg.putManifest('ci/damaged', Buffer.from('{"not json'), MediaType.OciManifest, 'shale-cache');
    const rec2 = recorder();
    await edit(spec, 'main.py', 'print("damaged 2")\n');
    await build(spec, options(await tmp(), [target('ci/damaged:three')]), rec2.events);
    assert.ok(
      warnings(rec2.seen).some((m) => /cannot use the layer cache .*not JSON/.test(m)),
      warnings(rec2.seen).join('\n'),
    );
    assert.equal(cacheAt('ci/damaged').parsed.entries.length, 1);
  });

  it('a cache that cannot be written is a warning; the push succeeds', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("unwritable")\n' });
    reg.fail('PUT', /\/ci\/unwritable\/manifests\/shale-cache$/, 403, 1);
    const { events, seen } = recorder();
    const r = await build(spec, options(await tmp(), [target('ci/unwritable:one')]), events);
    assert.equal(reg.tags.get('ci/unwritable')?.get('one'), r.digest);
    assert.ok(
      warnings(seen).some((m) => /the image was pushed, but its layers could not be recorded in the layer cache/.test(m)),
      warnings(seen).join('\n'),
    );
  });

  it('off: nothing read, nothing written; --no-cache: nothing read, the push still recorded', async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("off")\n' });
    await build(spec, options(await tmp(), [target('ci/off:one')]), noEvents);
    const since = reg.log.length;
    const off = await build(spec, options(await tmp(), [target('ci/off:two', false)]), noEvents);
    assert.equal(layerOf(off, 'app').source, 'built');
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.path.includes('shale-cache')),
      [],
    );

    const since2 = reg.log.length;
    await edit(spec, 'main.py', 'print("off, no cache")\n');
    const nc = await build(spec, options(await tmp(), [target('ci/off:three')], { noCache: true }), noEvents);
    assert.equal(layerOf(nc, 'app').source, 'built');
    const cacheRequests = reg.log.slice(since2).filter((q) => q.path.endsWith('/manifests/shale-cache'));
    assert.deepEqual(
      cacheRequests.map((q) => q.method),
      ['GET', 'PUT'],
      'read only to merge, after the push',
    );
    assert.equal(cacheAt('ci/off').parsed.entries[0]!.descriptor.digest, layerOf(nc, 'app').digest);
  });

  it("retryBudgetMs (--retry-budget) bounds the patience of the build's registry client", async () => {
    const spec = await project(appConfig(base()), { 'main.py': 'print("budget")\n' });
    reg.fail('PUT', /\/ci\/budget\/manifests\/one$/, 503, 50);
    const started = Date.now();
    await assert.rejects(build(spec, { ...options(await tmp(), [target('ci/budget:one')]), retryBudgetMs: 0 }, noEvents), /retry budget 0 s/);
    assert.ok(Date.now() - started < 5000, 'gave up at once');
    assert.ok(!reg.tags.get('ci/budget')?.has('one'));
  });

  it('a cache in another repository: layers are mounted into it, and a push to a third repository mounts them from it', async () => {
    const spec = await project(appConfig(base(), ''), { 'main.py': 'print("elsewhere")\n' });
    const shared = ref('team/cache:layers');
    const first = await build(spec, options(await tmp(), [target('svc/one:1', shared)]), noEvents);
    assert.ok(!reg.tags.get('svc/one')?.has('shale-cache'), 'no cache in the pushed repository');
    const { parsed } = cacheAt('team/cache', 'layers');
    const app = layerOf(first, 'app').digest;
    assert.equal(parsed.entries[0]!.descriptor.digest, app);
    assert.ok(reg.repoBlobs.get('team/cache')?.has(app), 'the layer blob is in the cache repository');

    const since = reg.log.length;
    const second = await build(spec, options(await tmp(), [target('svc/two:1', shared)]), noEvents);
    assert.equal(layerOf(second, 'app').source, 'registry');
    assert.match(layerOf(second, 'app').reason, /team\/cache:layers, pushed with .*svc\/one:1/);
    assert.ok(reg.log.slice(since).some((q) => q.method === 'POST' && q.path.includes('/svc/two/blobs/uploads/') && q.query.includes('from=team%2Fcache')));
    assert.deepEqual(
      reg.log.slice(since).filter((q) => q.method === 'GET' && q.path.endsWith(`/blobs/${app}`)),
      [],
    );
  });
});
