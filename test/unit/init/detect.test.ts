import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectStarter, writeStarter } from '../../../src/init/detect.js';
import { withoutPrefixes } from '../../../src/init/from-dockerfile.js';
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
  assert.deepEqual(s.config.layers, [
    { name: 'pip_deps', packages: 'all' },
    { name: 'libs', paths: ['libs/ledger_core'] },
  ]);
  assert.ok(s.notes.some((n) => /ASGI app in main\.py/.test(n)));
});

test('the written section is one shale itself accepts, and init never overwrites one', async () => {
  const dir = await project({
    '.python-version': '3.12.4\n',
    'app.py': 'from flask import Flask\napp = Flask(__name__)\n',
    'requirements.txt': 'flask==3.1.3\n',
  });
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
    Dockerfile: [
      'FROM python:3.11-slim',
      'WORKDIR /code',
      'COPY ./requirements.txt /code/requirements.txt',
      'RUN pip install --no-cache-dir --upgrade -r /code/requirements.txt',
      'COPY ./app /code/app',
      'EXPOSE 80',
      'CMD ["fastapi", "run", "app/main.py", "--port", "80"]',
      '',
    ].join('\n'),
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
  assert.deepEqual(
    spec.app.map((a) => [a.from, a.to]),
    [[join(dir, 'app'), '/code/app']],
  );
  assert.equal(spec.lock, join(dir, 'requirements.txt'));
});

test('init from a multi-stage Dockerfile with a user, ENV and apt lines: the user as created, build-only ENV left out, the rest listed', async () => {
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
  assert.deepEqual(s.config.user, { name: 'app', uid: 10001, gid: 10001 });
  assert.deepEqual(s.config.app, ['.']);
  assert.deepEqual(s.config['extra-index-url'], ['https://mirror.example/simple']);
  assert.deepEqual(s.config.entrypoint, ['/bin/sh', '-c', 'gunicorn shop.wsgi --bind 0.0.0.0:$PORT']);
  assert.deepEqual(s.config['system-packages'], ['libpq5'], "the final stage's apt packages, installed without apt");
  assert.ok(
    s.notes.some((n) => /system-packages from Containerfile's apt-get install: libpq5/.test(n)),
    s.notes.join('\n'),
  );
  assert.ok(
    s.notes.some((n) => /not carried over: .*Containerfile:10: RUN python manage\.py collectstatic/.test(n)),
    s.notes.join('\n'),
  );
  const text = await writeStarter(s);
  const section = text.slice(text.indexOf('[tool.shale]'));
  assert.match(section, /^system-packages = \["libpq5"\]$/m);
  const spec = await loadBuildSpec(dir);
  assert.deepEqual([spec.user, spec.account?.uid, spec.account?.gid], ['app', 10001, 10001]);
});

test('with no entry point found, init leaves a TODO instead of a wrong command', async () => {
  const dir = await project({ 'requirements.txt': 'requests\n', 'lib.py': '' });
  const s = await detectStarter(dir);
  assert.equal(s.config.entrypoint, undefined);
  const text = await writeStarter(s);
  assert.match(text, /# TODO: set entrypoint/);
});

test('a multi-stage pip wheel Dockerfile: no find-links or no-index pointing into the image, nothing to add by hand', async () => {
  const dir = await project({
    Dockerfile: [
      'FROM python:3.12-slim AS builder',
      'COPY requirements.txt .',
      'RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt',
      'FROM python:3.12-slim',
      'WORKDIR /app',
      'COPY --from=builder /wheels /wheels',
      'RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/* && rm -rf /wheels',
      'COPY app.py .',
      'CMD ["python", "app.py"]',
    ].join('\n'),
    'requirements.txt': 'flask\n',
    'app.py': 'from flask import Flask\napp = Flask(__name__)\n',
  });
  const s = await detectStarter(dir);
  assert.equal(s.config['find-links'], undefined);
  assert.equal(s.config['no-index'], undefined);
  assert.deepEqual(s.config.app, ['app.py']);
  assert.deepEqual(s.todos, []);
  assert.ok(
    s.notes.some((n) => /--find-links \/wheels: wheels built inside the image/.test(n)),
    s.notes.join('\n'),
  );
});

test("a venv Dockerfile: the command loses the venv's bin, adduser with no uid is created by name", async () => {
  const dir = await project({
    Dockerfile: [
      'FROM python:3.11-slim AS builder',
      'RUN python -m venv /opt/venv',
      'ENV PATH="/opt/venv/bin:$PATH"',
      'COPY requirements.txt .',
      'RUN pip install -r requirements.txt',
      'FROM python:3.11-slim',
      'RUN adduser --disabled-password --gecos "" appuser',
      'COPY --from=builder /opt/venv /opt/venv',
      'ENV PATH="/opt/venv/bin:$PATH"',
      'WORKDIR /home/appuser/app',
      'COPY --chown=appuser:appuser . .',
      'USER appuser',
      'CMD /opt/venv/bin/python -m gunicorn --bind 0.0.0.0:$PORT app:app',
    ].join('\n'),
    'requirements.txt': 'flask\ngunicorn\n',
    'app.py': '',
  });
  const s = await detectStarter(dir);
  assert.deepEqual(s.config.entrypoint, ['/bin/sh', '-c', 'python3 -m gunicorn --bind 0.0.0.0:$PORT app:app']);
  assert.equal(s.config.user, 'appuser');
  assert.equal(s.config.env, undefined, 'PATH naming the venv is left out');
  assert.ok(
    s.notes.some((n) => /installs packages into \/opt\/venv/.test(n)),
    s.notes.join('\n'),
  );
  assert.deepEqual(withoutPrefixes(['/opt/venv/bin/uvicorn', 'main:app'], ['/opt/venv']), ['uvicorn', 'main:app']);
  assert.deepEqual(
    withoutPrefixes(['/opt/venv/bin/python3.11', '/opt/venv/bin/x'], ['/opt/venv']),
    ['python3', '/opt/venv/bin/x'],
    'only the program is rewritten',
  );
});

test('entry points need their server among the dependencies: Django without gunicorn runs runserver, FastAPI without uvicorn is a TODO', async () => {
  const django = await project({ 'requirements.txt': 'Django>=4.2\n', 'manage.py': '', 'mysite/wsgi.py': '', 'mysite/__init__.py': '' });
  assert.deepEqual((await detectStarter(django)).config.entrypoint, ['python3', 'manage.py', 'runserver', '0.0.0.0:8000']);
  const withGunicorn = await project({ 'requirements.txt': 'Django>=4.2\ngunicorn==22.0\n', 'manage.py': '', 'mysite/wsgi.py': '' });
  assert.deepEqual((await detectStarter(withGunicorn)).config.entrypoint, ['gunicorn', '--bind', '0.0.0.0:8000', 'mysite.wsgi:application']);
  const fastapi = await project({ 'requirements.txt': 'fastapi\n', 'main.py': 'from fastapi import FastAPI\napi = FastAPI()\n' });
  const s = await detectStarter(fastapi);
  assert.equal(s.config.entrypoint, undefined);
  assert.ok(
    s.todos.some((t) => t.includes('"uvicorn", "main:api"')),
    s.todos.join('\n'),
  );
  const standard = await project({ 'requirements.txt': 'fastapi[standard]>=0.113\n', 'main.py': 'from fastapi import FastAPI\napi: FastAPI = FastAPI()\n' });
  assert.deepEqual((await detectStarter(standard)).config.entrypoint, ['python3', '-m', 'uvicorn', 'main:api', '--host', '0.0.0.0', '--port', '8000']);
});

test('a Dockerfile with no CMD: the entry point is guessed from the files and the requirements the Dockerfile installs', async () => {
  const dir = await project({
    Dockerfile: 'FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n',
    'requirements.txt': 'fastapi==0.110\nuvicorn==0.29\n',
    'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
  });
  const s = await detectStarter(dir);
  assert.deepEqual(s.config.entrypoint, ['python3', '-m', 'uvicorn', 'main:app', '--host', '0.0.0.0', '--port', '8000']);
  assert.ok(s.notes.some((n) => /no CMD or ENTRYPOINT/.test(n)));
  assert.deepEqual(s.todos, []);
});

test('what the project declares comes first: Procfile, [tool.fastapi], .flaskenv; src/<pkg>/main.py; gunicorn.conf.py binds', async () => {
  const entry = async (files: Record<string, string>) => (await detectStarter(await project(files))).config.entrypoint;
  const fastapiMain = 'from fastapi import FastAPI\napp = FastAPI()\n';
  assert.deepEqual(await entry({ Procfile: 'release: python manage.py migrate\nweb: gunicorn shop.wsgi --log-file -\n', 'main.py': fastapiMain }), [
    'gunicorn',
    'shop.wsgi',
    '--log-file',
    '-',
  ]);
  assert.deepEqual(
    await entry({
      'pyproject.toml': '[project]\nname = "api"\ndependencies = ["fastapi[standard]"]\n\n[tool.fastapi]\nentrypoint = "backend.server:api"\n',
      'main.py': fastapiMain,
    }),
    ['python3', '-m', 'uvicorn', 'backend.server:api', '--host', '0.0.0.0', '--port', '8000'],
  );
  assert.deepEqual(await entry({ '.flaskenv': 'FLASK_APP=shop:create_app()\n', 'requirements.txt': 'flask\ngunicorn\n' }), [
    'gunicorn',
    '--bind',
    '0.0.0.0:8000',
    'shop:create_app()',
  ]);
  assert.deepEqual(await entry({ '.flaskenv': 'FLASK_APP=shop\n', 'requirements.txt': 'flask\n' }), [
    'python3',
    '-m',
    'flask',
    '--app',
    'shop',
    'run',
    '--host',
    '0.0.0.0',
    '--port',
    '8000',
  ]);
  assert.deepEqual(await entry({ 'requirements.txt': 'fastapi\nuvicorn\n', 'src/orders/__init__.py': '', 'src/orders/main.py': fastapiMain }), [
    'python3',
    '-m',
    'uvicorn',
    'orders.main:app',
    '--app-dir',
    'src',
    '--host',
    '0.0.0.0',
    '--port',
    '8000',
  ]);
  assert.deepEqual(
    await entry({
      'requirements.txt': 'flask\ngunicorn\n',
      'app.py': 'from flask import Flask\napplication = Flask(__name__)\n',
      'gunicorn.conf.py': 'bind = "0.0.0.0:8080"\nworkers = 2\n',
    }),
    ['gunicorn', 'app:application'],
  );
});

test('USER and chown: writable from chowned directories, a numeric USER naming a created user, a group, a chowned file left as a TODO', async () => {
  const dir = await project({
    Dockerfile: [
      'FROM python:3.12-slim',
      'RUN groupadd -g 2000 web && useradd -m -u 2001 -g web -d /srv/home webuser',
      'WORKDIR /srv/app',
      'COPY . .',
      'RUN mkdir -p /srv/app/media /var/cache/app && chown -R webuser:web /srv/app/media /var/cache/app/ && chown webuser run.sh',
      'USER 2001',
      'CMD ["python3", "main.py"]',
    ].join('\n'),
    'main.py': '',
    'run.sh': '',
  });
  const s = await detectStarter(dir);
  assert.deepEqual(s.config.user, { name: 'webuser', uid: 2001, gid: 2000, home: '/srv/home' });
  assert.deepEqual(s.config.writable, ['/srv/app/media', '/var/cache/app']);
  assert.ok(
    s.todos.some((t) => /chowns run\.sh/.test(t)),
    s.todos.join('\n'),
  );
  await writeStarter(s);
  const spec = await loadBuildSpec(dir);
  assert.deepEqual(spec.writable, ['/srv/app/media', '/var/cache/app']);
  const root = await project({ Dockerfile: 'FROM python:3.12-slim\nRUN mkdir /data && chown 1000 /data\nCMD ["python3", "main.py"]\n', 'main.py': '' });
  const r = await detectStarter(root);
  assert.equal(r.config.writable, undefined, 'a container running as root writes anywhere');
  assert.ok(r.notes.some((n) => /runs as root/.test(n)));
});

test('installs by poetry, uv, pipenv: the lock the tool reads, pip installing the tool is no TODO, the whole project once in app', async () => {
  const poetry = await project({
    Dockerfile: [
      'FROM python:3.11-slim',
      'RUN pip install "poetry==1.7.1"',
      'WORKDIR /app',
      'COPY pyproject.toml poetry.lock ./',
      'RUN poetry config virtualenvs.create false && poetry install --no-root --no-interaction',
      'COPY . .',
      'CMD ["python", "-m", "app"]',
    ].join('\n'),
    'pyproject.toml': '[tool.poetry]\nname = "svc"\n',
    'poetry.lock': '',
    'requirements.txt': 'flask\n',
  });
  const p = await detectStarter(poetry);
  assert.deepEqual(p.config.app, ['.']);
  assert.equal(p.config.lock, undefined, 'poetry.lock is what the build finds first');
  assert.ok(
    p.notes.some((n) => /lock: poetry\.lock \(Dockerfile:5: RUN poetry install/.test(n)),
    p.notes.join('\n'),
  );
  assert.ok(
    p.notes.some((n) => /not carried over: Dockerfile:5: RUN poetry config/.test(n)),
    p.notes.join('\n'),
  );
  assert.deepEqual(p.todos, []);
  const uv = await project({
    Dockerfile: 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\nCMD ["python", "main.py"]\n',
    'uv.lock': '',
    'pylock.toml': '',
  });
  assert.equal((await detectStarter(uv)).config.lock, 'uv.lock', 'written: the build would take pylock.toml first');
  const pipenv = await project({
    Dockerfile: 'FROM python:3.9\nRUN pip install pipenv\nCOPY . /app\nRUN pipenv install --system --deploy\nCMD ["python", "/app/app.py"]\n',
    'app.py': '',
  });
  const e = await detectStarter(pipenv);
  assert.deepEqual(e.todos, [
    'Dockerfile:4: RUN pipenv install --system --deploy: shale does not read Pipfile.lock; export it (`pipenv requirements > requirements.txt`)',
  ]);
});

test('pip -r: the lock is written when another lock would be found first; several files are a TODO', async () => {
  const dir = await project({
    Dockerfile: 'FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt -r requirements-prod.txt\nCMD ["python3", "main.py"]\n',
    'requirements.txt': 'flask\n',
    'requirements-prod.txt': 'gunicorn\n',
    'poetry.lock': '',
    'main.py': '',
  });
  const s = await detectStarter(dir);
  assert.equal(s.config.lock, 'requirements.txt');
  assert.ok(
    s.todos.some((t) => /installs from requirements\.txt, requirements-prod\.txt/.test(t)),
    s.todos.join('\n'),
  );
});

test('COPY with a wildcard: the matching project files, as Docker expands them; other patterns are a TODO', async () => {
  const dir = await project({
    Dockerfile: 'FROM python:3.12-slim\nWORKDIR /srv\nCOPY *.py ./\nCOPY conf/*.yaml /etc/svc/\nCOPY **/*.txt ./\nCMD ["python3", "main.py"]\n',
    'main.py': '',
    'util.py': '',
    'notes.md': '',
    'conf/a.yaml': '',
    'conf/b.yml': '',
  });
  const s = await detectStarter(dir);
  assert.deepEqual(s.config.app, ['main.py', 'util.py', { from: 'conf/a.yaml', to: '/etc/svc/a.yaml' }]);
  assert.ok(
    s.todos.some((t) => /Dockerfile:5: \*\*\/\*\.txt \(a URL or pattern\)/.test(t)),
    s.todos.join('\n'),
  );
});

test("init's system-packages: build tools left out, a wildcard version dropped, an exact one kept; Alpine and unreadable names are TODOs", async () => {
  const dir = await project({
    'requirements.txt': 'requests\n',
    'main.py': '',
    Dockerfile: [
      'FROM python:3.12-slim',
      'RUN apt-get update && apt-get install -y --no-install-recommends gcc build-essential libpq-dev curl=7.88.* tzdata=2024a-0+deb12u1 \\',
      '    && rm -rf /var/lib/apt/lists/*',
      'RUN apt-get install -y $(cat apt.txt)',
      'CMD ["python", "main.py"]',
    ].join('\n'),
  });
  const s = await detectStarter(dir);
  assert.deepEqual(s.config['system-packages'], ['libpq-dev', 'curl', 'tzdata=2024a-0+deb12u1']);
  assert.ok(
    s.notes.some((n) => /^left out gcc, build-essential: Dockerfile installs them to compile/.test(n)),
    s.notes.join('\n'),
  );
  assert.ok(
    s.todos.some((t) => /Debian packages shale cannot read \(\$\(cat apt\.txt\)\)/.test(t)),
    s.todos.join('\n'),
  );
  await writeStarter(s);
  assert.deepEqual((await loadBuildSpec(dir)).systemPackages, ['libpq-dev', 'curl', 'tzdata=2024a-0+deb12u1'], 'what init writes loads');

  const alpine = await project({ 'requirements.txt': 'requests\n', 'main.py': '', Dockerfile: 'FROM python:3.12-alpine\nRUN apt-get install -y curl\n' });
  const a = await detectStarter(alpine);
  assert.equal(a.config['system-packages'], undefined);
  assert.ok(a.todos.some((t) => /on an Alpine base; shale installs Debian packages only/.test(t)));
});
