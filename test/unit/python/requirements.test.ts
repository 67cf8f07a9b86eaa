import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateMarker, markerEnv } from '../../../src/python/markers.js';
import { logicalLines, parseRequirements, readRequirements, selectForEnv } from '../../../src/python/requirements.js';
import type { TargetEnv } from '../../../src/python/tags.js';
import { cleanup, tempDir } from './helpers.js';

const H1 = 'a'.repeat(64);
const H2 = 'B'.repeat(64);
const env: TargetEnv = { python: '3.11', platform: { os: 'linux', architecture: 'arm64' }, libc: { kind: 'glibc', version: [2, 36] } };

describe('requirements.txt', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));
  const write = async (name: string, text: string): Promise<string> => {
    const p = join(dir, name);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, text);
    return p;
  };

  it('reads pins, extras, hashes across continuations, comments and markers', async () => {
    const f = await write(
      'a.txt',
      [
        '# compiled by uv',
        '',
        'Flask==3.0.0 \\',
        `    --hash=sha256:${H1} \\`,
        `    --hash=sha256:${H2}`,
        '    # via -r requirements.in',
        'uvicorn[standard]==0.29.0  # the server',
        "colorama==0.4.6 ; sys_platform == 'win32'",
        'zope.interface===6.0',
      ].join('\n'),
    );
    const pkgs = await parseRequirements(f);
    assert.deepEqual(
      pkgs.map((p) => [p.name, p.version, p.hashes.length, p.source.line, p.marker]),
      [
        ['flask', '3.0.0', 2, 3, undefined],
        ['uvicorn', '0.29.0', 0, 7, undefined],
        ['colorama', '0.4.6', 0, 8, "sys_platform == 'win32'"],
        ['zope-interface', '6.0', 0, 9, undefined],
      ],
    );
    assert.deepEqual(pkgs[0]?.hashes, [`sha256:${H1}`, `sha256:${H2.toLowerCase()}`]);
  });

  it('follows -r includes relative to the including file, and collects index options', async () => {
    await write('sub/base.txt', '--extra-index-url https://extra.example/simple\nsix==1.16.0\n');
    await write('sub/wheels/.keep', '');
    const f = await write('top.txt', '-i https://idx.example/simple\n--find-links ./sub/wheels\n--no-index\n-r sub/base.txt\n--trusted-host idx.example\nrequests==2.31.0\n');
    const r = await readRequirements(f);
    assert.deepEqual(r.packages.map((p) => p.name), ['six', 'requests']);
    assert.equal(r.packages[0]?.source.file, join(dir, 'sub/base.txt'));
    assert.equal(r.options.indexUrl, 'https://idx.example/simple');
    assert.deepEqual(r.options.extraIndexUrls, ['https://extra.example/simple']);
    assert.deepEqual(r.options.findLinks, [join(dir, 'sub/wheels')]);
    assert.equal(r.options.noIndex, true);
    assert.deepEqual(r.options.ignored, ['--trusted-host idx.example']);
  });

  for (const line of ['flask', 'flask>=2', 'flask~=2.0', 'flask==2.*', 'flask>=2,<3', 'flask[async]']) {
    it(`refuses unpinned "${line}" naming file:line and how to pin`, async () => {
      const f = await write('u.txt', `six==1.16.0\n${line}\n`);
      await assert.rejects(parseRequirements(f), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_UNPINNED');
        assert.match(e.message, new RegExp(`u\\.txt:2: flask is not pinned`));
        assert.match(e.message, /uv pip compile requirements\.in -o requirements\.txt/);
        assert.match(e.message, /pip-compile/);
        assert.match(e.message, /pip freeze/);
        return true;
      });
    });
  }

  it('refuses the same package pinned to two versions', async () => {
    const f = await write('d.txt', 'six==1.16.0\nSix==1.15.0\n');
    await assert.rejects(parseRequirements(f), { code: 'SHALE_LOCK_CONFLICT', message: /six is pinned twice.*d\.txt:1.*d\.txt:2/ });
  });

  it('merges a repeated identical pin', async () => {
    const f = await write('m.txt', `six==1.16.0 --hash=sha256:${H1}\nsix==1.16.0 --hash=sha256:${H2}\n`);
    const pkgs = await parseRequirements(f);
    assert.equal(pkgs.length, 1);
    assert.equal(pkgs[0]?.hashes.length, 2);
  });

  it('refuses -e, URLs, bad hashes and missing includes with clear codes', async () => {
    await assert.rejects(parseRequirements(await write('e.txt', '-e ./libs/x\n')), { code: 'SHALE_LOCK_UNSUPPORTED', message: /editable/ });
    await assert.rejects(parseRequirements(await write('url.txt', 'six @ https://x/six.whl\n')), { code: 'SHALE_LOCK_UNSUPPORTED' });
    await assert.rejects(parseRequirements(await write('h.txt', 'six==1.0 --hash=md5:abc\n')), { code: 'SHALE_BAD_HASH' });
    await assert.rejects(parseRequirements(await write('r.txt', '-r nope.txt\n')), { code: 'SHALE_LOCK_MISSING', message: /nope\.txt.*included from/ });
    await assert.rejects(parseRequirements(await write('cyc.txt', '-r cyc.txt\n')), { code: 'SHALE_LOCK_CYCLE' });
  });

  it('selectForEnv evaluates markers and allows per-environment pins', async () => {
    const f = await write(
      's.txt',
      [
        "numpy==1.24.4 ; python_version < '3.9'",
        "numpy==1.26.4 ; python_version >= '3.9'",
        "pywin32==306 ; sys_platform == 'win32'",
        "uvloop==0.19.0 ; sys_platform != 'win32' and platform_machine == 'aarch64'",
        'six==1.16.0',
      ].join('\n'),
    );
    const pkgs = selectForEnv(await parseRequirements(f), env);
    assert.deepEqual(pkgs.map((p) => `${p.name}==${p.version}`), ['numpy==1.26.4', 'uvloop==0.19.0', 'six==1.16.0']);
  });
});

describe('logicalLines', () => {
  it('keeps the first physical line number of a continued line', () => {
    assert.deepEqual(logicalLines('a==1 \\\n  --hash=x\n\n# c\nb==2 # note\n'), [
      { text: 'a==1   --hash=x', line: 1 },
      { text: 'b==2', line: 5 },
    ]);
  });
});

describe('evaluateMarker', () => {
  const vars = markerEnv(env);
  const cases: Array<[string, boolean]> = [
    ['python_version >= "3.8"', true],
    ['python_version < "3.10"', false],
    ['python_full_version >= "3.11.0"', true],
    ['python_version ~= "3.10"', true],
    ['sys_platform == "linux" and (platform_machine == "x86_64" or platform_machine == "aarch64")', true],
    ["os_name == 'nt' or implementation_name == 'pypy'", false],
    ['"linux" in sys_platform', true],
    ['platform_machine not in "x86_64 i686"', true],
    ['extra == "dev"', false],
  ];
  for (const [m, want] of cases) it(m, () => assert.equal(evaluateMarker(m, vars), want));
  it('reports unreadable markers as input errors', () => {
    assert.throws(() => evaluateMarker('python_version >>', vars, 'r.txt:3'), { code: 'SHALE_BAD_MARKER', message: /r\.txt:3/ });
  });
});
