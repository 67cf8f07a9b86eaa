// The base image comes from a mirror first (SHALE_REGISTRY_MIRRORS, the `mirrors` option): the
// registry the base names is asked only when no mirror has the image. Fake registries play the
// mirror and the registry; the base's layers open lazily, from the host that answered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noEvents } from '../../../src/events.js';
import { Annotation } from '../../../src/oci/annotations.js';
import { build } from '../../../src/pipeline/build.js';
import { readLayout } from '../../../src/image/layout.js';
import { LayoutPublisher } from '../../../src/publish/layout.js';
import { tmp } from '../publish/fixtures.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { appConfig, layerOf, options, project, pushBase } from './fixtures.js';

describe('base image from a mirror first', () => {
  let upstream: FakeRegistry;
  let mirror: FakeRegistry;
  let empty: FakeRegistry;
  let upstreamBase = '';
  let mirroredBase = '';
  before(async () => {
    [upstream, mirror, empty] = await Promise.all([FakeRegistry.start(), FakeRegistry.start(), FakeRegistry.start()]);
    // Two different images under one name, so the digest says which host answered.
    upstreamBase = await pushBase(upstream, 'library/python', '3.11-slim', 'upstream');
    mirroredBase = await pushBase(mirror, 'library/python', '3.11-slim', 'mirror');
  });
  after(() => Promise.all([upstream.close(), mirror.close(), empty.close()]));

  const baseDigest = async (dir: string): Promise<string | undefined> => {
    const art = await readLayout(dir);
    return art.kind === 'image' ? art.image.manifest.annotations?.[Annotation.BaseDigest] : undefined;
  };

  it('takes the base from the mirror and never asks the registry', async () => {
    const spec = await project(appConfig(`${upstream.host}/library/python:3.11-slim`), { 'main.py': 'print("mirrored")\n' });
    const out = join(await tmp(), 'image');
    const r = await build(spec, options(await tmp(), [new LayoutPublisher(out)], { mirrors: new Map([[upstream.host, [mirror.host]]]) }), noEvents);
    assert.equal(await baseDigest(out), mirroredBase);
    assert.equal(layerOf(r, 'base').source, 'base');
    assert.deepEqual(upstream.log, [], 'the registry itself was not contacted');
    // The layout needed the base layer's bytes: they came from the mirror too.
    assert.equal(mirror.requests('GET', /\/blobs\/sha256:/).length, 2, 'config and layer');
  });

  it('falls back to the registry when the mirror lacks the image', async () => {
    const spec = await project(appConfig(`${upstream.host}/library/python:3.11-slim`), { 'main.py': 'print("fallback")\n' });
    const out = join(await tmp(), 'image');
    await build(spec, options(await tmp(), [new LayoutPublisher(out)], { mirrors: new Map([[upstream.host, [empty.host]]]) }), noEvents);
    assert.equal(await baseDigest(out), upstreamBase);
    assert.equal(empty.requests('GET', /\/manifests\/3\.11-slim$/).length, 1, 'the mirror was asked first');
  });

  it('mirrors only the registry they are for', async () => {
    const spec = await project(appConfig(`${upstream.host}/library/python:3.11-slim`), { 'main.py': 'print("other")\n' });
    const out = join(await tmp(), 'image');
    const before = mirror.log.length;
    await build(spec, options(await tmp(), [new LayoutPublisher(out)], { mirrors: new Map([['docker.io', [mirror.host]]]) }), noEvents);
    assert.equal(await baseDigest(out), upstreamBase);
    assert.equal(mirror.log.length, before);
  });
});
