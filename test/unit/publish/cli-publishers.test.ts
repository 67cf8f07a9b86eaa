// How the CLI turns `--push/--tar/--oci` into publishers (and `--cache-from` into references):
// the library takes parsed values, so these are the only messages that name a flag.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildOptionsFromFlags, publishersFromFlags } from '../../../src/cli/build-flags.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import { noEvents } from '../../../src/events.js';
import { artifactDigest } from '../../../src/oci/image.js';
import { readLayout } from '../../../src/image/layout.js';
import { LayoutPublisher } from '../../../src/publish/layout.js';
import { RegistryPublisher } from '../../../src/publish/registry.js';
import { readTarball } from '../../../src/image/tarball.js';
import { TarballPublisher } from '../../../src/publish/tarball.js';
import { assertValidArtifact } from '../../support/validate-image.js';
import { tinyImage, tmp } from './fixtures.js';

const spec = { projectDir: '/srv/app', repository: 'demo-app' } as BuildSpec;
const kinds = (ps: readonly object[]): string[] => ps.map((p) => p.constructor.name);

describe('publishers from build flags', () => {
  it('with no output flag, writes the OCI layout in the project', () => {
    const ps = publishersFromFlags({}, spec);
    assert.deepEqual(kinds(ps), ['LayoutPublisher']);
    assert.equal(ps[0]!.target, join('/srv/app', '.shale', 'image'));
  });

  it('with --push alone, pushes only, naming the target as written', () => {
    const ps = publishersFromFlags({ push: 'localhost:5000/demo/app' }, spec);
    assert.deepEqual(kinds(ps), ['RegistryPublisher']);
    assert.equal(ps[0]!.target, 'localhost:5000/demo/app');
    assert.deepEqual(ps[0]!.previous, [{ registry: 'localhost:5000', repository: 'demo/app', tag: 'latest' }]);
  });

  it("publishes in the order push, tar, layout, with the push reference's tag and name", async () => {
    const dir = await tmp();
    const ps = publishersFromFlags({ push: 'registry.example/demo/app:v7', tar: join(dir, 'x.tar'), oci: join(dir, 'layout') }, spec);
    assert.deepEqual(kinds(ps), ['RegistryPublisher', 'TarballPublisher', 'LayoutPublisher']);
    const art = await tinyImage();
    for (const p of ps.slice(1)) await p.publish(art, noEvents);
    const tarball = await readTarball(join(dir, 'x.tar'), 'registry.example/demo/app:v7');
    const layout = await readLayout(join(dir, 'layout'), 'v7');
    assert.equal(artifactDigest(tarball), artifactDigest(art));
    assert.equal(artifactDigest(layout), artifactDigest(art));
    await assertValidArtifact(tarball, 'what the TarballPublisher wrote');
    await assertValidArtifact(layout, 'what the LayoutPublisher wrote');
  });

  it("names a tarball without --push after the config's repository", async () => {
    const file = join(await tmp(), 'x.tar');
    const [p] = publishersFromFlags({ tar: file }, spec);
    assert.ok(p instanceof TarballPublisher);
    const art = await tinyImage();
    await p.publish(art, noEvents);
    assert.equal(artifactDigest(await readTarball(file, 'docker.io/library/demo-app:latest')), artifactDigest(art));
  });

  it('keeps the layout when --oci is given with --push', () => {
    const ps = publishersFromFlags({ push: 'registry.example/demo/app:v1', oci: '/tmp/out' }, spec);
    assert.ok(ps[0] instanceof RegistryPublisher);
    assert.ok(ps[1] instanceof LayoutPublisher);
  });

  it('names --push when its reference is bad', () => {
    assert.throws(
      () => publishersFromFlags({ push: 'Not A Ref!!' }, spec),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_BAD_REFERENCE');
        assert.match(e.message, /^--push: invalid image reference "Not A Ref!!"/);
        return true;
      },
    );
  });

  it('parses --cache-from into references, naming the flag when one is bad; --no-cache reads none', () => {
    assert.deepEqual(buildOptionsFromFlags({ cacheFrom: ['ghcr.io/o/app:main'] }).cacheFrom, [{ registry: 'ghcr.io', repository: 'o/app', tag: 'main' }]);
    assert.throws(() => buildOptionsFromFlags({ cacheFrom: ['BAD REF'] }), /--cache-from: invalid image reference "BAD REF"/);
    assert.deepEqual(buildOptionsFromFlags({ cache: false, cacheFrom: ['BAD REF'] }).cacheFrom, []);
  });

  it("gives a push the repository's layer cache, or the one --registry-cache or the config names, or none", () => {
    const cacheOf = (flags: Record<string, unknown>, s: BuildSpec = spec) =>
      (publishersFromFlags({ push: 'registry.example/demo/app:sha1', ...flags }, s)[0] as RegistryPublisher).layerCaches;
    assert.deepEqual(cacheOf({}), [{ registry: 'registry.example', repository: 'demo/app', tag: 'shale-cache' }]);
    assert.deepEqual(cacheOf({ registryCache: 'registry.example/team/cache' }), [
      { registry: 'registry.example', repository: 'team/cache', tag: 'shale-cache' },
    ]);
    assert.deepEqual(cacheOf({ registryCache: 'off' }), []);
    const configured = { ...spec, registryCache: { registry: 'r.example', repository: 'c', tag: 'x' } } as BuildSpec;
    assert.deepEqual(cacheOf({}, configured), [{ registry: 'r.example', repository: 'c', tag: 'x' }]);
    assert.deepEqual(cacheOf({ registryCache: 'off' }, configured), [], 'the flag wins');
    assert.deepEqual(cacheOf({}, { ...spec, registryCache: false } as BuildSpec), []);
    assert.throws(() => cacheOf({ registryCache: 'BAD REF' }), /--registry-cache: invalid image reference "BAD REF"/);
  });

  it('parses --retry-budget in seconds; anything else is bad input naming the flag', () => {
    assert.equal(buildOptionsFromFlags({ retryBudget: '120' }).retryBudgetMs, 120_000);
    assert.equal(buildOptionsFromFlags({ retryBudget: '0.5' }).retryBudgetMs, 500);
    assert.equal(buildOptionsFromFlags({}).retryBudgetMs, undefined);
    for (const bad of ['', 'soon', '-1']) {
      assert.throws(
        () => buildOptionsFromFlags({ retryBudget: bad }),
        (e: Error & { code?: string; exitCode?: number }) => {
          assert.equal(e.code, 'SHALE_BAD_RETRY_BUDGET');
          assert.equal(e.exitCode, 2);
          assert.match(e.message, /^--retry-budget: ".*" is not a number of seconds/);
          return true;
        },
      );
    }
  });
});
