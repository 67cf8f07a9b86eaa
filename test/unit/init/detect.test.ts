import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectStarter, writeStarter } from '../../../src/init/detect.js';
import { writeProject } from '../../support/project.js';
import { loadBuildSpec } from '../../../src/config/load.js';

const project = (files: Record<string, string>): Promise<string> => writeProject(files);

test('a FastAPI project with a uv.lock and a local library gets uvicorn, its lock and explicit layers', async () => {
  const dir = await project({
    'pyproject.toml': '[project]\nname = "Ledger_API"\nrequires-python = ">=3.11"\ndependencies = ["fastapi", "uvicorn"]\n',
    'uv.lock': 'version = 1\n',
    'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
    'libs/ledger_core/pyproject.toml': '[project]\nname = "ledger-core"\n',
  });
  const s = await detectStarter(dir);
  assert.equal(s.file, join(dir, 'pyproject.toml'));
  assert.equal(s.config.name, 'ledger-api');
  assert.equal(s.config.base, 'python:3.11-slim');
  assert.equal(s.config.lock, 'uv.lock');
  assert.deepEqual(s.config.entrypoint, ['python3', '-m', 'uvicorn', 'main:app', '--host', '0.0.0.0', '--port', '8000']);
  assert.deepEqual(s.config.layers, [{ name: 'pip_deps', packages: 'all' }, { name: 'libs', paths: ['libs/ledger_core'] }]);
  assert.ok(s.notes.some((n) => /ASGI app in main\.py/.test(n)));
});

test('the written section is one shale itself accepts, and init never overwrites one', async () => {
  const dir = await project({ '.python-version': '3.12.4\n', 'app.py': 'from flask import Flask\napp = Flask(__name__)\n', 'requirements.txt': 'flask==3.1.3\n' });
  await writeStarter(await detectStarter(dir));
  const written = await readFile(join(dir, 'shale.toml'), 'utf8');
  assert.match(written, /base = "python:3\.12-slim"/);
  const spec = await loadBuildSpec(dir);
  assert.deepEqual(spec.entrypoint, ['python3', '-m', 'flask', '--app', 'app', 'run', '--host', '0.0.0.0', '--port', '8000']);
  assert.equal(spec.lock, join(dir, 'requirements.txt'));
  await assert.rejects(detectStarter(dir), { code: 'SHALE_ALREADY_CONFIGURED' });
  assert.equal(await readFile(join(dir, 'shale.toml'), 'utf8'), written);
});

test('init adds [tool.shale] to an existing pyproject.toml and keeps the rest', async () => {
  const before = '[project]\nname = "svc"\n\n[tool.ruff]\nline-length = 100\n';
  const dir = await project({ 'pyproject.toml': before, 'main.py': 'print(1)\n' });
  await writeStarter(await detectStarter(dir));
  const after = await readFile(join(dir, 'pyproject.toml'), 'utf8');
  assert.ok(after.startsWith(before));
  assert.equal((await loadBuildSpec(dir)).name, 'svc');
});
