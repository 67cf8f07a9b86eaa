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
  assert.equal(s.config.lock, undefined, 'uv.lock is found by default');
  assert.ok(s.notes.some((n) => /lock: uv\.lock/.test(n)));
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

test('init reads the Dockerfile: base, workdir, COPY → app, pip -r → lock, CMD, ports; the section builds as written', async () => {
  const dir = await project({
    Dockerfile: 'FROM python:3.11-slim\nWORKDIR /code\nCOPY ./requirements.txt /code/requirements.txt\nRUN pip install --no-cache-dir --upgrade -r /code/requirements.txt\nCOPY ./app /code/app\nEXPOSE 80\nCMD ["fastapi", "run", "app/main.py", "--port", "80"]\n',
    'requirements.txt': 'fastapi[standard]>=0.113.0,<0.114.0\n',
    'app/main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
    'app/__init__.py': '',
  });
  const s = await detectStarter(dir);
  assert.equal(s.config.base, 'python:3.11-slim');
  assert.equal(s.config.workdir, '/code');
  assert.deepEqual(s.config.app, [{ from: 'app', to: '/code/app' }]);
  assert.deepEqual(s.config.entrypoint, ['fastapi', 'run', 'app/main.py', '--port', '80']);
  assert.deepEqual(s.config.ports, [80]);
  assert.equal(s.config.lock, undefined, 'requirements.txt is the default lock');
  const text = await writeStarter(s);
  assert.doesNotMatch(text, /^\[/m, 'no table in shale.toml: every key stays top level');
  const spec = await loadBuildSpec(dir);
  assert.equal(spec.workdir, '/code');
  assert.deepEqual(spec.app.map((a) => [a.from, a.to]), [[join(dir, 'app'), '/code/app']]);
  assert.equal(spec.lock, join(dir, 'requirements.txt'));
});

test('init from a multi-stage Dockerfile with a user, ENV and apt lines: ids for the user, build-only ENV left out, the rest listed', async () => {
  const dir = await project({
    'pyproject.toml': '[project]\nname = "shop"\nversion = "1"\n',
    Containerfile: [
      'FROM python:3.12-slim AS builder',
      'RUN python -m venv /venv && /venv/bin/pip install -r requirements.txt --extra-index-url https://mirror.example/simple',
      'FROM python:3.12-slim',
      'ENV PATH="/venv/bin:$PATH" PORT=8000',
      'RUN apt-get update && apt-get install -y libpq5 && rm -rf /var/lib/apt/lists/*',
      'RUN useradd -u 10001 -m app',
      'WORKDIR /srv',
      'COPY --from=builder /venv /venv',
      'COPY . .',
      'RUN python manage.py collectstatic --noinput',
      'USER app',
      'CMD gunicorn shop.wsgi --bind 0.0.0.0:$PORT',
    ].join('\n'),
    'requirements.txt': 'django\n',
    'manage.py': '',
  });
  const s = await detectStarter(dir);
  assert.equal(s.config.base, 'python:3.12-slim');
  assert.deepEqual(s.config.env, { PORT: '8000' });
  assert.equal(s.config.user, '10001:10001');
  assert.deepEqual(s.config.app, ['.']);
  assert.deepEqual(s.config['extra-index-url'], ['https://mirror.example/simple']);
  assert.deepEqual(s.config.entrypoint, ['/bin/sh', '-c', 'gunicorn shop.wsgi --bind 0.0.0.0:$PORT']);
  assert.ok(s.todos.some((t) => /libpq5/.test(t)), s.todos.join('\n'));
  assert.ok(s.notes.some((n) => /not carried over: .*Containerfile:10: RUN python manage\.py collectstatic/.test(n)), s.notes.join('\n'));
  const text = await writeStarter(s);
  const section = text.slice(text.indexOf('[tool.shale]'));
  assert.match(section, /# TODO: .*libpq5/);
  assert.equal((await loadBuildSpec(dir)).user, '10001:10001');
});

test('with no entry point found, init leaves a TODO instead of a wrong command', async () => {
  const dir = await project({ 'requirements.txt': 'requests\n', 'lib.py': '' });
  const s = await detectStarter(dir);
  assert.equal(s.config.entrypoint, undefined);
  const text = await writeStarter(s);
  assert.match(text, /# TODO: set entrypoint/);
});
