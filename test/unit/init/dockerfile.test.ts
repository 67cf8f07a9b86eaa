import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandOf, instructions, readDockerfile, substitute } from '../../../src/init/dockerfile.js';

test('a FastAPI Dockerfile as the docs write it', () => {
  const f = readDockerfile(`# syntax=docker/dockerfile:1
FROM python:3.11-slim

WORKDIR /code

COPY ./requirements.txt /code/requirements.txt

RUN pip install --no-cache-dir --upgrade -r /code/requirements.txt

COPY ./app /code/app

CMD ["fastapi", "run", "app/main.py", "--port", "80"]
`);
  assert.equal(f.base, 'python:3.11-slim');
  assert.equal(f.workdir, '/code');
  assert.deepEqual(f.pip.requirements, ['/code/requirements.txt']);
  assert.deepEqual(f.cmd, ['fastapi', 'run', 'app/main.py', '--port', '80']);
  assert.deepEqual(
    f.copies.map((c) => [c.sources, c.dest]),
    [
      [['./requirements.txt'], '/code/requirements.txt'],
      [['./app'], '/code/app'],
    ],
  );
  assert.deepEqual(f.unmapped, []);
});

test('multi-stage with a builder venv, a user, EXPOSE, ENV, ARG and a shell-form CMD', () => {
  const f = readDockerfile(`ARG PY=3.11
FROM python:\${PY}-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \\
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install -r requirements.txt --index-url https://pypi.example/simple

FROM python:\${PY}-slim
ENV PYTHONUNBUFFERED=1 \\
    PORT=8000 APP_HOME=/srv/app
RUN apt-get update && apt-get install -y libpq5 curl && rm -rf /var/lib/apt/lists/*
RUN groupadd -g 10001 app && useradd -u 10001 -g 10001 -m -d /home/app app
WORKDIR $APP_HOME
COPY --from=builder /venv /venv
COPY --chown=app:app . .
RUN mkdir -p /srv/app/media && chown -R app:app /srv/app/media
RUN python manage.py collectstatic --noinput
USER app
EXPOSE 8000/tcp
HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1
CMD gunicorn mysite.wsgi:application --bind 0.0.0.0:$PORT
`);
  assert.equal(f.base, 'python:3.11-slim');
  assert.equal(f.workdir, '/srv/app');
  assert.deepEqual(f.env, { PYTHONUNBUFFERED: '1', PORT: '8000', APP_HOME: '/srv/app' });
  assert.deepEqual(f.ports, [8000]);
  assert.equal(f.user, 'app');
  assert.deepEqual(f.users, [{ name: 'app', uid: 10001, gid: 10001, home: '/home/app' }]);
  assert.deepEqual(f.pip.requirements, ['requirements.txt']);
  assert.equal(f.pip.indexUrl, 'https://pypi.example/simple');
  assert.deepEqual(f.aptPackages, ['libpq5', 'curl'], "the final stage's");
  assert.deepEqual(f.builderAptPackages, ['gcc', 'libpq-dev'], "the builder's, apart");
  assert.deepEqual(f.chowned, ['/srv/app/media']);
  assert.deepEqual(f.cmd, ['/bin/sh', '-c', 'gunicorn mysite.wsgi:application --bind 0.0.0.0:$PORT']);
  assert.equal(f.copies.find((c) => c.from === 'builder')?.dest, '/venv');
  assert.deepEqual(f.unmapped, [
    'Dockerfile:18: RUN python manage.py collectstatic --noinput',
    'Dockerfile:21: HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1',
  ]);
});

test('the pieces: continuations and comments, substitution, shell words', () => {
  assert.deepEqual(
    instructions('RUN a \\\n  # a comment\n  b\nCMD x\n').map((i) => [i.keyword, i.args.replace(/\s+/g, ' '), i.line]),
    [
      ['RUN', 'a b', 1],
      ['CMD', 'x', 4],
    ],
  );
  assert.equal(substitute('${A:-x}/${B}/$C', { B: 'b', C: 'c' }), 'x/b/c');
  assert.deepEqual(commandOf('python3 main.py --port "8 0"'), ['python3', 'main.py', '--port', '8 0']);
  assert.deepEqual(commandOf('python3 main.py && echo done'), ['/bin/sh', '-c', 'python3 main.py && echo done']);
  assert.deepEqual(commandOf('["uvicorn", "main:app"]'), ['uvicorn', 'main:app']);
  assert.throws(() => readDockerfile('RUN x\n'), /no FROM/);
});

test('an ENTRYPOINT resets the CMD inherited so far; a later CMD is its arguments', () => {
  const f = readDockerfile('FROM python:3.12\nCMD ["a"]\nENTRYPOINT ["python3", "-m", "app"]\nCMD ["--serve"]\n');
  assert.deepEqual(f.entrypoint, ['python3', '-m', 'app']);
  assert.deepEqual(f.cmd, ['--serve']);
});

test('a builder that makes wheels (pip wheel -w) and a final stage that installs them by path', () => {
  const f = readDockerfile(`FROM python:3.12-slim AS builder
WORKDIR /src
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM python:3.12-slim
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/* && rm -rf /wheels
CMD ["python", "-m", "svc"]
`);
  assert.deepEqual(f.pip.requirements, ['requirements.txt']);
  assert.deepEqual(f.pip.findLinks, ['/wheels']);
  assert.deepEqual(f.pip.localFiles, ['/wheels/*']);
  assert.deepEqual(f.pip.packages, [], 'neither the wheel dir nor the glob is a package name');
  assert.deepEqual(f.unmapped, []);
});

test("install prefixes: a builder's venv, pip --prefix and --user, VIRTUAL_ENV and PATH", () => {
  const f = readDockerfile(`FROM python:3.11 AS builder
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt
RUN pip install --prefix /install flask && pip install --user gunicorn
FROM python:3.11-slim
ENV VIRTUAL_ENV=/srv/venv PATH="/opt/venv/bin:/usr/local/bin:$PATH"
COPY --from=builder /opt/venv /opt/venv
CMD ["/opt/venv/bin/gunicorn", "app:app"]
`);
  assert.deepEqual(f.prefixes, ['/opt/venv', '/install', '/root/.local', '/srv/venv']);
});

test('users: ids from the line or from groupadd; adduser --system; Alpine adduser -D -g GECOS', () => {
  const users = (run: string) => readDockerfile(`FROM python:3.12-slim\nRUN ${run}\n`).users;
  assert.deepEqual(users('groupadd -g 2000 web && useradd -m -u 2001 -g web -s /bin/bash webuser'), [{ name: 'webuser', uid: 2001, gid: 2000 }]);
  assert.deepEqual(users('adduser --disabled-password --gecos "" appuser'), [{ name: 'appuser' }]);
  assert.deepEqual(users('adduser --system --no-create-home svc'), [{ name: 'svc' }]);
  assert.deepEqual(users('useradd -r -s /usr/sbin/nologin -d /var/lib/worker worker'), [{ name: 'worker', home: '/var/lib/worker' }]);
  assert.deepEqual(users("addgroup -g 1001 -S app && adduser -D -u 1001 -G app -g 'App user' app"), [{ name: 'app', uid: 1001, gid: 1001 }]);
});
