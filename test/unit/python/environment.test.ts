// The packages of one image from a project's dependencies, against a real local PEP 691 index
// (test/support/simple-index.ts) and real wheel files: resolution with metadata from .metadata
// files or from the wheel's tail (Range), yanked files and Requires-Python from the index page,
// lock completeness, and a lock's files found on the index by hash when its URLs are dead.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDependencies } from '../../../src/python/dependencies.js';
import { chooseEnvironment, type EnvironmentContext } from '../../../src/python/environment.js';
import { PackageCatalog } from '../../../src/python/provider.js';
import { Cache } from '../../../src/store/cache.js';
import type { PackageSources } from '../../../src/python/sources.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { startSimpleIndex, type SimpleIndex } from '../../support/simple-index.js';
import { cleanup, makeWheel, tempDir } from './helpers.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };

describe('chooseEnvironment against a local index', () => {
  let dir = '';
  let wheels = '';
  let withMeta: SimpleIndex;
  let rangeOnly: SimpleIndex;
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24; // incompressible enough to keep the wheel large

  before(async () => {
    dir = await tempDir();
    wheels = join(dir, 'wheels');
    await mkdir(wheels);
    const mod = (n: string) => [{ name: `${n}/__init__.py`, data: `N = "${n}"\n` }];
    makeWheel(wheels, {
      name: 'app_core',
      version: '2.0',
      files: [...mod('app_core'), { name: 'app_core/blob.bin', data: big }],
      metadata: ['Requires-Dist: helper>=1', 'Requires-Dist: fast; extra == "speed"', 'Provides-Extra: speed'],
    });
    makeWheel(wheels, { name: 'helper', version: '1.5', files: mod('helper'), metadata: ['Requires-Python: >=3.12'] });
    makeWheel(wheels, { name: 'helper', version: '1.4', files: mod('helper') });
    makeWheel(wheels, { name: 'helper', version: '1.3', files: mod('helper') });
    makeWheel(wheels, { name: 'fast', version: '1.0', files: mod('fast') });
    withMeta = await startSimpleIndex([wheels], {
      yanked: { 'helper-1.4-py3-none-any.whl': 'broken build' },
      requiresPython: { 'helper-1.5-py3-none-any.whl': '>=3.12' },
    });
    rangeOnly = await startSimpleIndex([wheels], { metadata: false });
  });
  after(async () => {
    await withMeta.close();
    await rangeOnly.close();
    await cleanup(dir);
  });

  const project = async (name: string, files: Record<string, string>): Promise<string> => {
    const p = join(dir, name);
    await mkdir(p, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(join(p, f), text);
    return p;
  };
  const context = (idx: SimpleIndex | undefined, projectDir: string, cacheDir: string, findLinks: string[] = []): EnvironmentContext => {
    const cache = Cache.open(cacheDir);
    const sources: PackageSources = { findLinks, noIndex: idx === undefined, projectDir, ...(idx ? { indexUrl: idx.url } : {}), pageCache: cache.pages };
    return { catalog: new PackageCatalog(sources, cache), cache, events: () => {}, searchIndexes: idx !== undefined };
  };
  const pins = (env: { packages: { pkg: { name: string; version: string } }[] }): string[] => env.packages.map((p) => `${p.pkg.name}==${p.pkg.version}`).sort();

  it('resolves top-level requirements: extras followed, yanked and too-new Python skipped, from .metadata files only', async () => {
    const p = await project('r1', { 'requirements.txt': 'app-core[speed]\n' });
    const deps = await readDependencies({ projectDir: p, lock: join(p, 'requirements.txt'), extras: [], groups: [] });
    assert.equal(deps?.kind, 'resolve');
    const env = await chooseEnvironment(deps!, amd64, context(withMeta, p, join(dir, 'c1')));
    assert.deepEqual(pins(env), ['app-core==2.0', 'fast==1.0', 'helper==1.3']);
    assert.equal(env.unpinned, 3);
    assert.ok(!withMeta.requests.some((r) => r.path.endsWith('.whl')), 'no wheel was read: metadata came from PEP 658 files');
  });

  it('a resolution is kept while the index says its pages are fresh, and made again when they are not', async () => {
    const pypiLike = await startSimpleIndex([wheels], { maxAge: 600 });
    try {
      const p = await project('rc', { 'requirements.txt': 'app-core\n' });
      const deps = await readDependencies({ projectDir: p, lock: join(p, 'requirements.txt'), extras: [], groups: [] });
      const cache = join(dir, 'c-rc');
      const first = await chooseEnvironment(deps!, amd64, context(pypiLike, p, cache));
      const asked = pypiLike.requests.length;
      const second = await chooseEnvironment(deps!, amd64, context(pypiLike, p, cache));
      assert.deepEqual(pins(second), pins(first));
      assert.equal(pypiLike.requests.length, asked, 'nothing asked of the index within max-age');
      // An index that only gives ETags: every build revalidates its pages.
      const etagOnly = join(dir, 'c-etag');
      await chooseEnvironment(deps!, amd64, context(withMeta, p, etagOnly));
      const before = withMeta.requests.length;
      await chooseEnvironment(deps!, amd64, context(withMeta, p, etagOnly));
      assert.ok(withMeta.requests.length > before, 'pages revalidated');
    } finally {
      await pypiLike.close();
    }
  });

  it('reads metadata from the wheel tail with Range requests when the index has no .metadata files', async () => {
    const p = await project('r2', { 'requirements.txt': 'app-core\n' });
    const deps = await readDependencies({ projectDir: p, lock: join(p, 'requirements.txt'), extras: [], groups: [] });
    const env = await chooseEnvironment(deps!, amd64, context(rangeOnly, p, join(dir, 'c2')));
    // helper 1.5 says Requires-Python >=3.12 in its METADATA only (this index does not say it): ruled out from there.
    assert.deepEqual(pins(env), ['app-core==2.0', 'helper==1.4']);
    const reads = rangeOnly.requests.filter((r) => r.path.endsWith('app_core-2.0-py3-none-any.whl'));
    assert.ok(reads.length > 0 && reads.every((r) => r.range !== undefined), `only ranges of the big wheel were read: ${JSON.stringify(reads)}`);
  });

  it('a lock missing a requirement of one of its packages is refused, naming both', async () => {
    const p = await project('l1', {});
    const sha = createHash('sha256')
      .update(await readFile(join(wheels, 'app_core-2.0-py3-none-any.whl')))
      .digest('hex');
    await writeFile(
      join(p, 'pylock.toml'),
      `lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "app-core"\nversion = "2.0"\nwheels = [{ name = "app_core-2.0-py3-none-any.whl", url = "https://files.example.invalid/app_core-2.0-py3-none-any.whl", hashes = { sha256 = "${sha}" } }]\n`,
    );
    const deps = await readDependencies({ projectDir: p, lock: join(p, 'pylock.toml'), extras: [], groups: [] });
    await assert.rejects(chooseEnvironment(deps!, amd64, context(withMeta, p, join(dir, 'c3'))), {
      code: 'SHALE_LOCK_INCOMPLETE',
      message:
        /pylock\.toml does not make a working environment for linux\/amd64.*app-core 2\.0 requires helper>=1, which pylock\.toml does not have.*shale lock/s,
    });
  });

  it("finds a lock's file on the configured index by its hash when the lock's URL is dead", async () => {
    const p = await project('l2', {});
    const sha = (f: string) => readFile(join(wheels, f)).then((b) => createHash('sha256').update(b).digest('hex'));
    const entry = async (name: string, version: string, file: string) =>
      `[[packages]]\nname = "${name}"\nversion = "${version}"\nwheels = [{ name = "${file}", url = "https://files.example.invalid/${file}", hashes = { sha256 = "${await sha(file)}" } }]\n`;
    await writeFile(
      join(p, 'pylock.toml'),
      `lock-version = "1.0"\ncreated-by = "hand"\n\n${await entry('app-core', '2.0', 'app_core-2.0-py3-none-any.whl')}\n${await entry('helper', '1.3', 'helper-1.3-py3-none-any.whl')}`,
    );
    const deps = await readDependencies({ projectDir: p, lock: join(p, 'pylock.toml'), extras: [], groups: [] });
    const env = await chooseEnvironment(deps!, amd64, context(withMeta, p, join(dir, 'c4')));
    assert.deepEqual(pins(env), ['app-core==2.0', 'helper==1.3']);
    for (const c of env.packages) assert.match(c.wheel.candidate?.url ?? '', /^http:\/\/127\.0\.0\.1/, 'served by the index, not the dead URL');
    // A file with the same name but other bytes is never taken.
    const other = join(dir, 'other');
    await mkdir(other, { recursive: true });
    makeWheel(other, { name: 'helper', version: '1.3', files: [{ name: 'helper/evil.py', data: 'x = 1\n' }] });
    const env2 = await chooseEnvironment(deps!, amd64, context(withMeta, p, join(dir, 'c5'), [other]));
    const helper = env2.packages.find((c) => c.pkg.name === 'helper');
    assert.equal(helper?.wheel.sha256, await sha('helper-1.3-py3-none-any.whl'));
  });

  it('pyproject [project].dependencies with an extra and a PEP 735 group; unknown ones are errors listing what exists', async () => {
    const p = await project('pp', {
      'pyproject.toml':
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["helper<1.5"]\n\n[project.optional-dependencies]\nspeed = ["fast"]\n\n[dependency-groups]\nserve = ["app-core"]\nall = [{include-group = "serve"}]\n',
    });
    const deps = await readDependencies({ projectDir: p, extras: ['speed'], groups: ['all'] });
    assert.equal(deps?.kind, 'resolve');
    const env = await chooseEnvironment(deps!, amd64, context(withMeta, p, join(dir, 'c6')));
    assert.deepEqual(pins(env), ['app-core==2.0', 'fast==1.0', 'helper==1.3']);
    await assert.rejects(readDependencies({ projectDir: p, extras: ['nope'], groups: [] }), {
      message: /extra "nope" is not in .*pyproject\.toml \[project\.optional-dependencies\] \(extras: speed\)/,
    });
    await assert.rejects(readDependencies({ projectDir: p, extras: [], groups: ['dev'] }), {
      message: /dependency group "dev" is not in .*\(groups: all, serve\)/,
    });
  });
});
