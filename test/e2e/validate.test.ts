// End to end: `shale validate` builds (twice, no caches) against a real registry and checks the
// image: PASS on the hello example; FAIL with the path at fault when two layers write one file
// or when the entrypoint's program is not in the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { useRegistryWithBase } from './support/setup.js';
import { writeProject } from '../support/project.js';
import { shale } from './support/shale.js';
import { makeWheel } from '../unit/python/helpers.js';

const ctx = useRegistryWithBase();
const CHECKS = [
  'layer-order',
  'native-files',
  'no-conflicts',
  'no-excluded-files',
  'entrypoint',
  'app-entry',
  'python-site',
  'requirements',
  'user',
  'system-packages',
  'reproducible',
];

const project = (files: Record<string, string>): Promise<string> => writeProject(files);

const shaleToml = (extra: string): string => `name = "v"\nbase = "python:3.11-slim"\npython = "3.11"\nplatforms = ["linux/amd64"]\n${extra}\n`;

test('validate: every check passes on examples/hello_python', async () => {
  const r = await shale(['validate', join(repoRoot(), 'examples', 'hello_python')], ctx.env);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => /^(PASS|FAIL) ([\w-]+): /.exec(l)?.slice(1, 3).join(' ')),
    CHECKS.map((c) => `PASS ${c}`),
  );
  // Found on the config's PATH in the base layer, through its symlink, and read as x86-64 ELF.
  assert.match(r.stdout, /^PASS entrypoint: linux\/amd64: python3 is \/usr\/bin\/python3 → \/usr\/bin\/python3\.11 \(x86-64 ELF\)$/m);
  // Each check says what it looked at.
  assert.match(r.stdout, /^PASS app-entry: linux\/amd64: script main\.py is \/app\/main\.py$/m);
  const python = '/usr/bin/python3 → /usr/bin/python3.11 (3.11 debian)';
  assert.ok(r.stdout.includes(`\nPASS python-site: linux/amd64: python3 is ${python}; no distributions from shale\n`), r.stdout);
  assert.match(r.stdout, /^PASS user: linux\/amd64: no User: runs as root$/m);
  // The e2e base's own Debian packages (no system layer here): all of them from the base.
  assert.match(r.stdout, /^PASS system-packages: linux\/amd64: \d+ packages \(0 from shale's layers\) meet each other's Depends/m);
});

test('validate: `python3 main.py` without main.py fails app-entry (exit 1), naming the path looked at', async () => {
  const toml = shaleToml('workdir = "/srv"\nentrypoint = ["python3", "-u", "main.py"]\napp = ["app.py"]');
  const dir = await project({ 'shale.toml': toml, 'app.py': 'print(1)\n' });
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL app-entry: linux\/amd64: the entrypoint runs main\.py, but \/srv\/main\.py is not in the image \(WorkingDir \/srv\)/m);
  assert.match(r.stdout, /^PASS entrypoint: /m, 'python3 itself is there');
});

test('validate: `uvicorn app.main:app` with no app package shipped fails app-entry; shipped, it passes; users and packages are checked', async () => {
  // A stand-in uvicorn program in the app, so only the module is missing.
  // `app = ["app"]` copies the directory's contents into /app (as `COPY app/ /app/`): there is no package `app`.
  const bin = '{ from = "bin", to = "/app/bin" }';
  const files = {
    'shale.toml': shaleToml(`workdir = "/app"\nentrypoint = ["/app/bin/uvicorn", "--host", "0.0.0.0", "app.main:app"]\napp = [${bin}, "app"]`),
    'bin/uvicorn': '#!/bin/sh\n',
    'app/main.py': 'app = None\n',
  };
  const dir = await project(files);
  await chmod(join(dir, 'bin', 'uvicorn'), 0o755);
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL app-entry: linux\/amd64: uvicorn app\.main:app: module app\.main is not on the image's sys\.path \(\/app:\/usr\/lib\//m);
  assert.match(r.stdout, /^PASS entrypoint: /m);

  const shipped = await project({
    ...files,
    'shale.toml': shaleToml(`workdir = "/app"\nentrypoint = ["/app/bin/uvicorn", "app.main:app"]\napp = ["."]\nuser = "appuser"\nwritable = ["/app/data"]`),
  });
  await chmod(join(shipped, 'bin', 'uvicorn'), 0o755);
  // A wheel from a find-links directory inside the project (which stays out of the app layer).
  await mkdir(join(shipped, 'wheels'));
  const wheel = makeWheel(join(shipped, 'wheels'), { name: 'greeting', version: '1.0', files: [{ name: 'greeting/__init__.py', data: 'WORD = "hi"\n' }] });
  const sha = createHash('sha256')
    .update(await readFile(wheel.path))
    .digest('hex');
  await writeFile(join(shipped, 'requirements.txt'), `greeting==1.0 --hash=sha256:${sha}\n`);
  await appendFile(join(shipped, 'shale.toml'), 'find-links = ["wheels"]\nno-index = true\n');
  const ok = await shale(['validate', shipped], ctx.env);
  assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^PASS app-entry: linux\/amd64: uvicorn app\.main:app: module app\.main is \/app\/app\/main\.py$/m);
  assert.match(ok.stdout, /^PASS user: linux\/amd64: User "appuser": appuser is in \/etc\/passwd \(uid 10001, gid 10001, home \/home\/appuser\)$/m);
  assert.match(ok.stdout, /^PASS layer-order: /m, 'the users layer sits low');
  const site = '/usr/local/lib/python3.11/dist-packages';
  const python = '/usr/bin/python3 → /usr/bin/python3.11 (3.11 debian)';
  assert.ok(ok.stdout.includes(`\nPASS python-site: linux/amd64: python3 is ${python}; 1 distribution(s) from shale in ${site}, which it reads\n`), ok.stdout);
  assert.match(ok.stdout, /^PASS requirements: linux\/amd64: \d+ distribution\(s\) in .*\/usr\/local\/lib\/python3\.11\/dist-packages/m);
  assert.match(ok.stdout, /^PASS no-excluded-files: /m);
  assert.doesNotMatch(ok.stderr, /wheels\//, 'a find-links directory is shale input, not an exclusion to report');
  const debug = await shale(['--debug', 'validate', shipped], ctx.env);
  assert.match(debug.stderr, /debug: left out wheels\/ from the app: it is a find-links directory/);
});

test('validate: two layers writing one path with different bytes is refused by the build itself (exit 2), naming the path and the layers', async () => {
  const site = '/usr/local/lib/python3.11/dist-packages';
  const dir = await project({
    'shale.toml': shaleToml(`workdir = "${site}"\nentrypoint = ["python3", "-m", "mylib"]\napp = ["app"]\n[[layers]]\nname = "libs"\npaths = ["libs/mylib"]`),
    'libs/mylib/pyproject.toml':
      '[project]\nname = "mylib"\nversion = "1.0"\n[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n[tool.setuptools.packages.find]\nwhere = ["src"]\n',
    'libs/mylib/src/mylib/__init__.py': 'WHO = "lib"\n',
    'app/mylib/__init__.py': 'WHO = "app"\n',
  });
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`local libraries \\(layer "libs"\\) and the app \\(layer "app"\\) both write ${site}/mylib/__init__\\.py, with different contents`),
  );
});

test('validate: an entrypoint program that is not in the image fails (exit 1), naming it', async () => {
  const dir = await project({
    'shale.toml': shaleToml('workdir = "/app"\nentrypoint = ["gunicorn", "main:app"]\napp = ["."]'),
    'main.py': 'app = None\n',
  });
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL entrypoint: linux\/amd64: the entrypoint's program "gunicorn" is not in the image on PATH \(\/usr\/local\/sbin:/m);
  assert.match(r.stdout, /^PASS no-conflicts: /m);
});

test('validate: bad input is exit 2', async () => {
  const dir = await project({ 'shale.toml': shaleToml('entrypoint = "not-a-list"') });
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
});
