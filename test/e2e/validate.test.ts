// End to end: `shale validate` builds (twice, no caches) against a real registry and checks the
// image: PASS on the hello example; FAIL with the path at fault when two layers write one file
// or when the entrypoint's program is not in the image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { useRegistryWithBase } from './support/setup.js';
import { writeProject } from '../support/project.js';
import { shale } from './support/shale.js';

const ctx = useRegistryWithBase();
const CHECKS = ['layer-order', 'native-files', 'no-conflicts', 'no-excluded-files', 'entrypoint', 'reproducible'];

const project = (files: Record<string, string>): Promise<string> => writeProject(files);

const shaleToml = (extra: string): string => `name = "v"\nbase = "python:3.11-slim"\npython = "3.11"\nplatforms = ["linux/amd64"]\n${extra}\n`;

test('validate: every check passes on examples/hello_python', async () => {
  const r = await shale(['validate', join(repoRoot(), 'examples', 'hello_python')], ctx.env);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => /^(PASS|FAIL) ([\w-]+): /.exec(l)?.slice(1, 3).join(' ')), CHECKS.map((c) => `PASS ${c}`));
  // Found on the config's PATH in the base layer, through its symlink, and read as x86-64 ELF.
  assert.match(r.stdout, /^PASS entrypoint: linux\/amd64: python3 is \/usr\/bin\/python3 → \/usr\/bin\/python3\.11 \(x86-64 ELF\)$/m);
});

test('validate: two layers writing one path with different bytes is refused by the build itself (exit 2), naming the path and the layers', async () => {
  const site = '/usr/local/lib/python3.11/dist-packages';
  const dir = await project({
    'shale.toml': shaleToml(`workdir = "${site}"\nentrypoint = ["python3", "-m", "mylib"]\napp = ["app"]\n[[layers]]\nname = "libs"\npaths = ["libs/mylib"]`),
    'libs/mylib/pyproject.toml': '[project]\nname = "mylib"\nversion = "1.0"\n[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n[tool.setuptools.packages.find]\nwhere = ["src"]\n',
    'libs/mylib/src/mylib/__init__.py': 'WHO = "lib"\n',
    'app/mylib/__init__.py': 'WHO = "app"\n',
  });
  const r = await shale(['validate', dir], ctx.env);
  assert.equal(r.exitCode, 2, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`local libraries \\(layer "libs"\\) and the app \\(layer "app"\\) both write ${site}/mylib/__init__\\.py, with different contents`));
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
