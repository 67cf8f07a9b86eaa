// What a build learns of its base (C library, Python): from the config and the Env for free,
// then records (local, or an earlier image's annotations), and only then one pass over the
// layers; recorded for the next build; the `python` key checked against it.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { factAnnotations, factsOf, learnBase, type BaseSource, type FactSources } from '../../../src/base/facts.js';
import type { ShaleEvent } from '../../../src/events.js';
import { Cache } from '../../../src/store/cache.js';
import { cleanup, tempDir } from '../python/helpers.js';
import { DEBIAN_PYTHON, layer, type Item } from './layers.js';

const GLIBC_236 = 'GLIBC_2.34\0GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n\0';

async function base(
  items: readonly Item[],
  opened: string[],
  digest: string,
  env: string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
): Promise<BaseSource> {
  return {
    name: 'docker.io/library/python:3.11-slim',
    digest,
    config: { architecture: 'amd64', os: 'linux', config: { Env: env }, rootfs: { type: 'layers', diff_ids: [] } },
    layers: [await layer(items, opened, digest)],
  };
}

const both = { libc: true, python: true };

async function withCache<T>(f: (cache: Cache, src: (more?: Partial<FactSources>) => FactSources, log: ShaleEvent[]) => Promise<T>): Promise<T> {
  const dir = await tempDir();
  const log: ShaleEvent[] = [];
  const cache = Cache.open(dir, (e) => log.push(e));
  try {
    return await f(cache, (more = {}) => ({ records: cache.base, noCache: false, events: cache.events, ...more }), log);
  } finally {
    await cleanup(dir);
  }
}

describe('learnBase', () => {
  it('a Debian base: C library and Python read in one pass, recorded, and read from the record next time', async () => {
    await withCache(async (cache, src, log) => {
      const opened: string[] = [];
      const b = await base([...DEBIAN_PYTHON, { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', data: GLIBC_236 }], opened, 'sha256:aa');
      const facts = await learnBase(b, {}, both, src());
      assert.deepEqual(factAnnotations(facts), { 'dev.shale.base.libc': 'glibc 2.36', 'dev.shale.base.python': '3.11 debian' });
      assert.deepEqual(opened, ['sha256:aa'], 'one pass over the one layer');
      assert.ok(log.some((e) => e.type === 'step' && e.step === "reading the base image's C library and Python"));
      assert.deepEqual(await cache.base.get('sha256:aa'), { 'dev.shale.base.libc': 'glibc 2.36', 'dev.shale.base.python': '3.11 debian' });
      const again = await learnBase(b, { python: '3.11' }, both, src());
      assert.deepEqual(factAnnotations(again), factAnnotations(facts));
      assert.deepEqual(opened, ['sha256:aa'], 'the second build used the record');
    });
  });

  it('PYTHON_VERSION answers without a layer; a `python` key that disagrees names both versions', async () => {
    await withCache(async (_cache, src) => {
      const opened: string[] = [];
      const b = await base([], opened, 'sha256:bb', ['PYTHON_VERSION=3.11.9']);
      assert.deepEqual((await learnBase(b, {}, { libc: false, python: true }, src())).python, {
        version: '3.11',
        kind: 'official',
        evidence: 'PYTHON_VERSION=3.11.9',
      });
      await assert.rejects(learnBase(b, { python: '3.12' }, { libc: false, python: true }, src()), {
        code: 'SHALE_PYTHON_MISMATCH',
        message: /^python = "3\.12" in \[tool\.shale\], but base image docker\.io\/library\/python:3\.11-slim has Python 3\.11 \(PYTHON_VERSION=3\.11\.9\)/,
      });
      assert.deepEqual(opened, []);
    });
  });

  it('a mismatch is found from the layers, and from a record, alike', async () => {
    await withCache(async (_cache, src) => {
      const opened: string[] = [];
      const b = await base(DEBIAN_PYTHON, opened, 'sha256:cc');
      await assert.rejects(learnBase(b, { python: '3.12' }, { libc: false, python: false }, src()), {
        code: 'SHALE_PYTHON_MISMATCH',
        message: /"3\.12".*Python 3\.11 \(\/usr\/bin\/python3 → \/usr\/bin\/python3\.11\)/,
      });
      assert.deepEqual(opened, ['sha256:cc'], 'a set key is checked even when nothing is installed');
      await assert.rejects(learnBase(b, { python: '3.12' }, { libc: false, python: true }, src()), {
        code: 'SHALE_PYTHON_MISMATCH',
        message: /as recorded for this base digest/,
      });
      assert.deepEqual(opened, ['sha256:cc']);
    });
  });

  it("an earlier image's annotations answer without reading layers, and are kept locally", async () => {
    await withCache(async (cache, src) => {
      const opened: string[] = [];
      const b = await base(DEBIAN_PYTHON, opened, 'sha256:dd');
      const registry = { 'dev.shale.base.libc': 'glibc 2.35', 'dev.shale.base.python': '3.11 debian' };
      const facts = await learnBase(b, {}, both, src({ registry }));
      assert.deepEqual(factAnnotations(facts), registry);
      assert.deepEqual(opened, []);
      assert.deepEqual(await cache.base.get('sha256:dd'), registry);
    });
  });

  it('not needed and not known: nothing is read, nothing recorded', async () => {
    await withCache(async (cache, src) => {
      const opened: string[] = [];
      const facts = await learnBase(await base(DEBIAN_PYTHON, opened, 'sha256:ee'), {}, { libc: false, python: false }, src());
      assert.deepEqual(facts, {});
      assert.deepEqual(opened, []);
      assert.equal(await cache.base.get('sha256:ee'), undefined);
    });
  });

  it("the libc key wins and is not recorded as the base's; --no-cache reads the layers again", async () => {
    await withCache(async (cache, src) => {
      const opened: string[] = [];
      const b = await base(DEBIAN_PYTHON, opened, 'sha256:ff');
      const facts = await learnBase(b, { libc: { kind: 'musl', version: [1, 2] } }, both, src());
      assert.deepEqual(factAnnotations(facts), { 'dev.shale.base.libc': 'musl 1.2', 'dev.shale.base.python': '3.11 debian' });
      assert.deepEqual(await cache.base.get('sha256:ff'), { 'dev.shale.base.python': '3.11 debian' });
      await learnBase(b, {}, both, src({ noCache: true }));
      assert.deepEqual(opened, ['sha256:ff', 'sha256:ff']);
      assert.deepEqual(
        await cache.base.get('sha256:ff'),
        { 'dev.shale.base.python': '3.11 debian', 'dev.shale.base.libc': 'glibc 2.36' },
        '/etc/debian_version of 12',
      );
    });
  });

  it('no Python where one is needed: an InputError naming the configured version', async () => {
    await withCache(async (_cache, src) => {
      const b = await base([{ name: 'etc/debian_version', data: '12.7\n' }], [], 'sha256:11');
      await assert.rejects(learnBase(b, { python: '3.12' }, both, src()), {
        code: 'SHALE_PYTHON_MISSING',
        message: /^python = "3\.12" in \[tool\.shale\], but base image .* has no Python: /,
      });
      await assert.rejects(learnBase(b, {}, { libc: false, python: true }, src()), { code: 'SHALE_PYTHON_MISSING' });
    });
  });

  it('platforms sharing a base digest read it once', async () => {
    await withCache(async (_cache, src) => {
      const opened: string[] = [];
      const b = await base(DEBIAN_PYTHON, opened, 'sha256:22');
      const [x, y] = await Promise.all([learnBase(b, {}, { libc: false, python: true }, src()), learnBase(b, {}, { libc: false, python: true }, src())]);
      assert.deepEqual(x, y);
      assert.deepEqual(opened, ['sha256:22']);
    });
  });

  it('a damaged record is ignored with one warning and written anew', async () => {
    await withCache(async (cache, src, log) => {
      const opened: string[] = [];
      const b = await base(DEBIAN_PYTHON, opened, 'sha256:33');
      await cache.base.add('sha256:33', { 'dev.shale.base.python': '3.11 debian' });
      const [name] = await readdir(join(cache.dir, 'base'));
      await writeFile(join(cache.dir, 'base', name!), '{"dev.shale.base.python": "3.1');
      assert.equal((await learnBase(b, {}, { libc: false, python: true }, src())).python?.version, '3.11');
      assert.deepEqual(opened, ['sha256:33']);
      assert.equal(log.filter((e) => e.type === 'log' && e.level === 'warn' && /damaged base image record/.test(e.message)).length, 1);
      assert.deepEqual(await cache.base.get('sha256:33'), { 'dev.shale.base.python': '3.11 debian' });
    });
  });
});

describe('factsOf', () => {
  it('reads what it can and ignores the rest', () => {
    assert.deepEqual(factsOf({ 'dev.shale.base.libc': 'glibc 2.36', 'dev.shale.base.python': 'python 3' }), { libc: { kind: 'glibc', version: [2, 36] } });
    assert.deepEqual(factsOf(undefined), {});
  });
});
