import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequirement } from '../../../src/python/requirement.js';
import { resolve, type ResolverProvider, type RootRequirement, type VersionInfo } from '../../../src/python/resolver.js';
import type { TargetEnv } from '../../../src/python/tags.js';

const amd64: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'amd64' }, libc: { kind: 'glibc', version: [2, 36] } };
const arm64: TargetEnv = { ...amd64, platform: { os: 'linux', architecture: 'arm64' } };

/** A package index as data: name → version → { requires, requiresPython, yanked, usable }. */
type Universe = Record<string, Record<string, { requires?: string[]; python?: string; yanked?: string; usable?: false; extras?: string[] }>>;

function provider(u: Universe, asked: string[] = []): ResolverProvider {
  return {
    async versions(name: string): Promise<VersionInfo[]> {
      return Object.entries(u[name] ?? {}).map(([version, v]) => {
        const info: VersionInfo = { version, usable: v.usable !== false };
        if (v.usable === false) info.why = 'no wheel for linux/arm64 (wheels only for manylinux_2_17_x86_64)';
        if (v.yanked !== undefined) info.yanked = v.yanked;
        return info;
      });
    },
    async metadata(name: string, version: string) {
      asked.push(`${name}==${version}`);
      const v = u[name]?.[version];
      if (!v) throw new Error(`no ${name} ${version}`);
      return { requiresDist: v.requires ?? [], ...(v.python ? { requiresPython: v.python } : {}), providesExtra: v.extras ?? [] };
    },
  };
}

const roots = (...lines: string[]): RootRequirement[] => lines.map((l, i) => ({ req: parseRequirement(l), source: `requirements.txt:${i + 1}` }));
const pins = (r: { packages: { name: string; version: string }[] }): string[] => r.packages.map((p) => `${p.name}==${p.version}`);

const flaskWorld: Universe = {
  flask: {
    '3.1.3': {
      requires: [
        'Werkzeug>=3.1',
        'Jinja2>=3.1.2',
        'itsdangerous>=2.2',
        'click>=8.1.3',
        'blinker>=1.9',
        'importlib-metadata>=3.6; python_version < "3.10"',
        'asgiref>=3.2; extra == "async"',
      ],
      extras: ['async', 'dotenv'],
    },
    '2.0.3': { requires: ['Werkzeug>=2.0', 'Jinja2>=3.0', 'itsdangerous>=2.0', 'click>=7.1.2'] },
  },
  werkzeug: { '3.1.3': { requires: ['MarkupSafe>=2.1.1'] }, '2.0.3': {}, '3.2.0rc1': { requires: ['MarkupSafe>=2.1.1'] } },
  jinja2: { '3.1.4': { requires: ['MarkupSafe>=2.0'] } },
  markupsafe: { '3.0.2': { python: '>=3.9' }, '2.1.5': {} },
  itsdangerous: { '2.2.0': {} },
  click: { '8.1.7': { requires: ['colorama; platform_system == "Windows"'] } },
  blinker: { '1.9.0': {} },
  asgiref: { '3.8.1': {} },
  'importlib-metadata': { '8.0.0': {} },
};

describe('resolve', () => {
  it('walks top-level requirements to every transitive package, highest versions, markers for the target', async () => {
    const r = await resolve({ roots: roots('flask==3.1.3'), env: amd64 }, provider(flaskWorld));
    assert.deepEqual(pins(r), [
      'blinker==1.9.0',
      'click==8.1.7',
      'flask==3.1.3',
      'itsdangerous==2.2.0',
      'jinja2==3.1.4',
      'markupsafe==3.0.2',
      'werkzeug==3.1.3',
    ]);
    const werkzeug = r.packages.find((p) => p.name === 'werkzeug');
    assert.deepEqual(werkzeug?.requiredBy, ['flask']);
    assert.deepEqual(r.packages.find((p) => p.name === 'flask')?.requiredBy, ['requirements.txt:1']);
  });

  it('an extra brings its dependencies; an extra the package lacks is a warning', async () => {
    const r = await resolve({ roots: roots('Flask[Async,nope]>=3'), env: amd64 }, provider(flaskWorld));
    assert.ok(pins(r).includes('asgiref==3.8.1'));
    assert.deepEqual(r.packages.find((p) => p.name === 'flask')?.extras, ['async', 'nope']);
    assert.deepEqual(r.warnings, ['flask 3.1.3 has no extra "nope"']);
  });

  it('explains a conflict in the words of the requirements', async () => {
    await assert.rejects(resolve({ roots: roots('flask==3.1.3', 'werkzeug==2.0.3'), env: amd64 }, provider(flaskWorld)), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_RESOLUTION_IMPOSSIBLE');
      assert.match(e.message, /flask 3\.1\.3 requires werkzeug>=3\.1, but requirements\.txt:2 pins werkzeug==2\.0\.3/);
      assert.match(e.message, /linux\/amd64, Python 3\.11/);
      assert.match(e.message, /Versions of werkzeug available: 3\.2\.0rc1, 3\.1\.3, 2\.0\.3/);
      return true;
    });
  });

  it('backtracks to an older version when the newest cannot work', async () => {
    // flask 3.1.3 needs werkzeug>=3.1, which the pin rules out; flask 2.0.3 accepts werkzeug 2.0.3.
    const r = await resolve({ roots: roots('flask', 'werkzeug==2.0.3'), env: amd64 }, provider(flaskWorld));
    assert.ok(pins(r).includes('flask==2.0.3'));
    assert.ok(pins(r).includes('werkzeug==2.0.3'));
  });

  it('backjumps over unrelated decisions and finds a deep solution', async () => {
    const u: Universe = {
      app: { '1.0': { requires: ['a', 'b', 'z'] } },
      a: { '3.0': { requires: ['c<1'] }, '2.0': { requires: ['c<2'] }, '1.0': { requires: ['c>=2'] } },
      b: { '1.0': { requires: ['c>=2'] } },
      c: { '2.5': {}, '1.5': {}, '0.5': {} },
      z: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${i + 1}.0`, {}])),
    };
    const r = await resolve({ roots: roots('app'), env: amd64 }, provider(u));
    assert.deepEqual(pins(r), ['a==1.0', 'app==1.0', 'b==1.0', 'c==2.5', 'z==30.0']);
  });

  it('reports no version in range with what exists', async () => {
    await assert.rejects(resolve({ roots: roots('flask>=99'), env: amd64 }, provider(flaskWorld)), {
      code: 'SHALE_RESOLUTION_IMPOSSIBLE',
      message: /requirements\.txt:1 requires flask>=99, but no version of flask satisfies it.*Versions of flask available: 3\.1\.3, 2\.0\.3/,
    });
    await assert.rejects(resolve({ roots: roots('nosuch'), env: amd64 }, provider(flaskWorld)), { message: /no source has any file for nosuch/ });
  });

  it('evaluates markers for each target platform, not the build host', async () => {
    const u: Universe = {
      app: { '1.0': { requires: ['uvloop; platform_machine == "aarch64"', 'httptools; platform_machine != "aarch64"'] } },
      uvloop: { '0.19.0': {} },
      httptools: { '0.6.1': {} },
    };
    assert.deepEqual(pins(await resolve({ roots: roots('app'), env: amd64 }, provider(u))), ['app==1.0', 'httptools==0.6.1']);
    assert.deepEqual(pins(await resolve({ roots: roots('app'), env: arm64 }, provider(u))), ['app==1.0', 'uvloop==0.19.0']);
  });

  it('skips a version whose Requires-Python does not fit the image', async () => {
    const r = await resolve({ roots: roots('markupsafe'), env: { ...amd64, python: '3.8' } }, provider(flaskWorld));
    assert.deepEqual(pins(r), ['markupsafe==2.1.5']);
  });

  it('follows PEP 440 pre-release rules and PEP 592 yanks', async () => {
    assert.deepEqual(pins(await resolve({ roots: roots('werkzeug'), env: amd64 }, provider(flaskWorld))), ['markupsafe==3.0.2', 'werkzeug==3.1.3']);
    assert.deepEqual(pins(await resolve({ roots: roots('werkzeug>=3.2.0rc1'), env: amd64 }, provider(flaskWorld))), [
      'markupsafe==3.0.2',
      'werkzeug==3.2.0rc1',
    ]);
    assert.deepEqual(pins(await resolve({ roots: roots('werkzeug'), env: amd64, allowPre: true }, provider(flaskWorld))), [
      'markupsafe==3.0.2',
      'werkzeug==3.2.0rc1',
    ]);
    const onlyPre: Universe = { x: { '2.0b1': {} } };
    assert.deepEqual(pins(await resolve({ roots: roots('x'), env: amd64 }, provider(onlyPre))), ['x==2.0b1']);
    const yanked: Universe = { x: { '2.0': { yanked: 'broken' }, '1.0': {} } };
    assert.deepEqual(pins(await resolve({ roots: roots('x'), env: amd64 }, provider(yanked))), ['x==1.0']);
    const pinned = await resolve({ roots: roots('x==2.0'), env: amd64 }, provider(yanked));
    assert.deepEqual(pins(pinned), ['x==2.0']);
    assert.equal(pinned.packages[0]?.yanked, 'broken');
  });

  it('constraints narrow versions but add no package; preferences are tried first', async () => {
    const c = [
      { req: parseRequirement('werkzeug<3'), source: 'c.txt:1' },
      { req: parseRequirement('asgiref==3.8.1'), source: 'c.txt:2' },
    ];
    const r = await resolve({ roots: roots('flask'), constraints: c, env: amd64 }, provider(flaskWorld));
    assert.ok(pins(r).includes('flask==2.0.3'));
    assert.ok(!pins(r).some((p) => p.startsWith('asgiref')));
    const pref = await resolve({ roots: roots('markupsafe'), env: amd64, preferences: new Map([['markupsafe', '2.1.5']]) }, provider(flaskWorld));
    assert.deepEqual(pins(pref), ['markupsafe==2.1.5']);
  });

  it('names the platform when no version has a wheel for it', async () => {
    const u: Universe = { native: { '1.0': { usable: false }, '0.9': { usable: false } } };
    await assert.rejects(resolve({ roots: roots('native'), env: arm64 }, provider(u)), {
      code: 'SHALE_RESOLUTION_IMPOSSIBLE',
      message:
        /no version of native can be installed on this target: no wheel for linux\/arm64 \(wheels only for manylinux_2_17_x86_64\).*Versions of native found: 1\.0, 0\.9, none installable on linux\/arm64/,
    });
  });

  it('asks metadata only of the versions it decides on', async () => {
    const asked: string[] = [];
    await resolve({ roots: roots('flask==3.1.3'), env: amd64 }, provider(flaskWorld, asked));
    assert.ok(!asked.includes('flask==2.0.3'));
    assert.ok(!asked.includes('markupsafe==2.1.5'));
  });
});
