import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateMarker, markerEnv } from '../../../src/python/markers.js';
import { lockedPackages, logicalLines, parseRequirements, readRequirements, selectForEnv } from '../../../src/python/requirements.js';
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
    const f = await write(
      'top.txt',
      '-i https://idx.example/simple\n--find-links ./sub/wheels\n--no-index\n-r sub/base.txt\n--trusted-host idx.example\nrequests==2.31.0\n',
    );
    const r = await readRequirements(f);
    assert.deepEqual(
      r.lines.map((l) => l.req.name),
      ['six', 'requests'],
    );
    assert.equal(r.lines[0]?.source.file, join(dir, 'sub/base.txt'));
    assert.equal(r.hashMode, false);
    assert.equal(r.options.indexUrl, 'https://idx.example/simple');
    assert.deepEqual(r.options.extraIndexUrls, ['https://extra.example/simple']);
    assert.deepEqual(r.options.findLinks, [join(dir, 'sub/wheels')]);
    assert.equal(r.options.noIndex, true);
    assert.deepEqual(r.options.ignored, ['--trusted-host idx.example']);
  });

  for (const [line, spec, extras] of [
    ['flask', '', []],
    ['flask>=2', '>=2', []],
    ['flask ~= 2.0', '~=2.0', []],
    ['flask==2.*', '==2.*', []],
    ['Flask >=2, <3', '>=2,<3', []],
    ['flask[async]', '', ['async']],
  ] as const) {
    it(`reads "${line}" as pip does: a requirement to resolve`, async () => {
      const f = await write('u.txt', `six==1.16.0\n${line}\n`);
      const r = await readRequirements(f);
      assert.equal(r.hashMode, false);
      assert.equal(r.lines[1]?.req.name, 'flask');
      assert.equal(r.lines[1]?.req.specifier, spec);
      assert.deepEqual(r.lines[1]?.req.extras, extras);
    });
    it(`refuses unpinned "${line}" in hash-checking mode, naming file:line and how to pin`, async () => {
      const f = await write('u.txt', `--require-hashes\nsix==1.16.0 --hash=sha256:${H1}\n${line}\n`);
      await assert.rejects(parseRequirements(f), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_UNPINNED');
        assert.match(e.message, /u\.txt:3: [Ff]lask is not pinned/);
        assert.match(e.message, /shale lock/);
        assert.match(e.message, /uv pip compile --generate-hashes/);
        return true;
      });
    });
  }

  it('refuses -r and -c files outside the project (a host file must not be read, nor its lines printed)', async () => {
    const f = await write('proj/requirements.txt', 'six==1.16.0\n-r /etc/shadow\n');
    await assert.rejects(readRequirements(f, join(dir, 'proj')), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_PATH_OUTSIDE');
      assert.match(e.message, /\/etc\/shadow is outside the project directory/);
      return true;
    });
    const c = await write('proj/c.txt', '-c ../outside.txt\n');
    await write('outside.txt', 'six<2\n');
    await assert.rejects(readRequirements(c, join(dir, 'proj')), { code: 'SHALE_PATH_OUTSIDE' });
    await write('proj/inner.txt', 'six==1.16.0\n');
    const ok = await write('proj/top.txt', '-r inner.txt\n');
    assert.equal((await readRequirements(ok, join(dir, 'proj'))).lines.length, 1);
  });

  it('reads -c constraints files and --pre', async () => {
    await write('c.txt', 'werkzeug<3\n# comment\nclick==8.1.7\n');
    const f = await write('withc.txt', '-c c.txt\n--pre\nflask>=2\n');
    const r = await readRequirements(f);
    assert.deepEqual(
      r.lines.map((l) => l.req.name),
      ['flask'],
    );
    assert.deepEqual(
      r.constraints.map((l) => `${l.req.name}${l.req.specifier}`),
      ['werkzeug<3', 'click==8.1.7'],
    );
    assert.equal(r.options.pre, true);
    await write('cx.txt', 'flask[async]<3\n');
    await assert.rejects(readRequirements(await write('withcx.txt', '-c cx.txt\n')), {
      code: 'SHALE_LOCK_UNSUPPORTED',
      message: /constraints file cannot ask for extras/,
    });
  });

  it('reads UTF-16 files as PowerShell writes them (pip freeze > requirements.txt)', async () => {
    const text = 'six==1.16.0\r\nflask==3.1.3\r\n';
    const f = join(dir, 'utf16.txt');
    await writeFile(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const r = await readRequirements(f);
    assert.deepEqual(
      r.lines.map((l) => `${l.req.name}${l.req.specifier}`),
      ['six==1.16.0', 'flask==3.1.3'],
    );
    const bom = await write('bom.txt', '\ufeffsix==1.16.0\n');
    assert.deepEqual(
      (await readRequirements(bom)).lines.map((l) => l.req.name),
      ['six'],
    );
  });

  it('refuses the same package pinned to two versions in a lock', async () => {
    const f = await write('d.txt', `six==1.16.0 --hash=sha256:${H1}\nSix==1.15.0 --hash=sha256:${H2}\n`);
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
    await assert.rejects(parseRequirements(await write('bad.txt', 'six=>1\n')), { code: 'SHALE_LOCK_SYNTAX', message: /bad\.txt:1/ });
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
    const pkgs = selectForEnv(lockedPackages({ ...(await readRequirements(f)), hashMode: true }), env);
    assert.deepEqual(
      pkgs.map((p) => `${p.name}==${p.version}`),
      ['numpy==1.26.4', 'uvloop==0.19.0', 'six==1.16.0'],
    );
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
