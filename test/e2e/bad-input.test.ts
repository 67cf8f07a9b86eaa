// Bad input through the real CLI: each case exits 2 (input) or 1 (runtime) with one readable
// paragraph naming the culprit, no stack trace, nothing on stdout and no half-written output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { startRegistry, type Registry } from './support/registry.js';
import { skopeoInspect } from './support/podman.js';
import { shale, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();
let authReg: Registry;
let wheels: string;

before(async () => {
  authReg = await startRegistry({ htpasswd: { user: 'ci', password: 'right-password' } });
  const fastapi = join(repoRoot(), 'examples', 'hello_fastapi');
  await run('sh', [join(fastapi, 'fetch-wheels.sh')]);
  wheels = join(fastapi, 'wheels');
});
after(async () => {
  await authReg?.stop();
});

const CONFIG = (extra = '') => `[tool.shale]\nname = "bad"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\n${extra}`;

async function project(files: Record<string, string>, withWheels = false): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-bad-'));
  await writeFile(join(dir, 'main.py'), 'print("hi")\n');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  if (withWheels) {
    await mkdir(join(dir, 'wheels'));
    for (const w of await readdir(wheels)) if (w.endsWith('.whl')) await copyFile(join(wheels, w), join(dir, 'wheels', w));
  }
  return dir;
}

interface Case {
  name: string;
  args: (dir: string) => string[];
  files?: Record<string, string>;
  withWheels?: boolean;
  dir?: string;
  exit: 1 | 2;
  message: RegExp;
  env?: () => Promise<Record<string, string>>;
}

const WHEELS = 'find-links = ["wheels"]\nno-index = true\nexclude = ["wheels/"]\n';
const cases: Case[] = [
  {
    name: 'invalid TOML',
    files: { 'pyproject.toml': '[tool.shale]\nname = "bad\n' },
    args: (d) => ['build', d],
    exit: 2,
    message: /pyproject\.toml:2:\d+: invalid TOML/,
  },
  {
    name: 'wrong key type',
    files: { 'pyproject.toml': CONFIG('ports = ["8000"]\n') },
    args: (d) => ['build', d],
    exit: 2,
    message: /`\[tool\.shale\]\.ports\[0\]`: expected number/,
  },
  {
    name: 'unknown key',
    files: { 'pyproject.toml': CONFIG('entry_point = ["x"]\n') },
    args: (d) => ['build', d],
    exit: 2,
    message: /unknown key `entry_point` in \[tool\.shale\]/,
  },
  {
    name: 'no version in the required range',
    files: { 'pyproject.toml': CONFIG(WHEELS), 'requirements.txt': 'fastapi>=99\n' },
    withWheels: true,
    args: (d) => ['build', d],
    exit: 2,
    message: /requirements\.txt:1 requires fastapi>=99, but no version of fastapi satisfies it.*Versions of fastapi available: 0\.92\.0/s,
  },
  {
    name: 'an incomplete lock',
    files: { 'pyproject.toml': CONFIG(WHEELS), 'requirements.txt': '--require-hashes\n' },
    withWheels: true,
    args: (d) => ['build', d],
    exit: 2,
    message: /requirements\.txt does not make a working environment.*fastapi 0\.92\.0 requires (starlette|pydantic).*shale lock/s,
  },
  {
    name: 'no wheel for the platform',
    files: { 'pyproject.toml': CONFIG(WHEELS), 'requirements.txt': 'winonly==1.0\n' },
    withWheels: true,
    args: (d) => ['build', d],
    exit: 2,
    message: /winonly==1\.0.*linux\/amd64.*winonly-1\.0-cp311-cp311-win_amd64\.whl.*Versions of winonly found: 1\.0, none installable on linux\/amd64/s,
  },
  {
    name: 'hash mismatch',
    files: { 'pyproject.toml': CONFIG(WHEELS), 'requirements.txt': `sniffio==1.2.0 --hash=sha256:${'0'.repeat(64)}\n` },
    withWheels: true,
    args: (d) => ['build', d],
    exit: 2,
    message: /sniffio.*(hash|sha256)/is,
  },
  {
    name: 'app path outside the project',
    files: { 'pyproject.toml': CONFIG('app = ["../../etc"]\n') },
    args: (d) => ['build', d],
    exit: 2,
    message: /"\.\.\/\.\.\/etc" is outside the project directory/,
  },
  {
    name: 'missing base tag',
    files: { 'pyproject.toml': CONFIG().replace('python:3.11-slim', 'python:3.99-nope') },
    args: (d) => ['build', d],
    exit: 2,
    message: /python:3\.99-nope.*not found/,
  },
  {
    name: 'invalid reference',
    files: { 'pyproject.toml': CONFIG() },
    args: (d) => ['build', d, '--push', 'Not A Ref!!'],
    exit: 2,
    message: /--push.*Not A Ref!!/,
  },
  {
    name: 'a registry that refuses the credentials',
    files: { 'pyproject.toml': CONFIG() },
    args: (d) => ['build', d, '--push', `${authReg.host}/demo/bad:v1`],
    exit: 1,
    message: /refused the credentials.*ci/s,
    env: async () => {
      const cfg = await mkdtemp(join(tmpdir(), 'shale-docker-config-'));
      await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('ci:wrong-password').toString('base64') } } }));
      return { DOCKER_CONFIG: cfg };
    },
  },
  { name: 'missing project directory', dir: '/nonexistent/shale-app', args: (d) => ['build', d], exit: 2, message: /\/nonexistent\/shale-app does not exist/ },
];

for (const c of cases) {
  test(`bad input: ${c.name} → exit ${c.exit} naming the culprit`, async () => {
    const dir = c.dir ?? (await project(c.files ?? {}, c.withWheels));
    if (c.name === 'an incomplete lock') {
      // fastapi pinned with its hash, as pip-compile writes it, but none of what it requires.
      const fastapi = (await readFile(join(repoRoot(), 'examples', 'hello_fastapi', 'requirements.txt'), 'utf8'))
        .split('\n')
        .find((l) => l.startsWith('fastapi=='));
      await writeFile(join(dir, 'requirements.txt'), `--require-hashes\n${fastapi ?? assert.fail('no fastapi pin in hello_fastapi')}\n`);
    }
    if (c.withWheels && c.name === 'no wheel for the platform') {
      await copyFile(
        join(
          wheels,
          (await readdir(wheels)).find((w) => w.startsWith('sniffio'))!,
        ),
        join(dir, 'wheels', 'winonly-1.0-cp311-cp311-win_amd64.whl'),
      );
    }
    const extra = c.env ? await c.env() : {};
    const r = await shale(c.args(dir), { ...ctx.env, ...extra });
    assert.equal(r.exitCode, c.exit, `exit code; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /^error: /);
    assert.match(r.stderr, c.message);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
    assert.doesNotMatch(r.stderr, /wrong-password|right-password/, 'no secret printed');
    assert.equal(r.stdout, '', 'nothing on stdout');
    assert.equal(existsSync(join(dir, '.shale', 'image', 'index.json')), false, 'no half-written image');
  });
}

test('a refused push leaves the existing tag where it was', async () => {
  // With the right credentials the first push lands; the refused one (above) never moved it.
  const cfg = await mkdtemp(join(tmpdir(), 'shale-docker-config-'));
  await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('ci:right-password').toString('base64') } } }));
  const dir = await project({ 'pyproject.toml': CONFIG() });
  const ref = `${authReg.host}/demo/auth:v1`;
  const ok = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, DOCKER_CONFIG: cfg });
  await writeFile(join(dir, 'main.py'), 'print("changed")\n');
  await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('ci:wrong-password').toString('base64') } } }));
  const refused = await shale(['build', dir, '--push', ref], { ...ctx.env, DOCKER_CONFIG: cfg });
  assert.equal(refused.exitCode, 1);
  const inspect = await skopeoInspect(ref, { creds: { user: 'ci', password: 'right-password' } });
  assert.equal(inspect.Digest, ok.digest);
});
