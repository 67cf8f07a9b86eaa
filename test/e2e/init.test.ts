// End to end: `shale init` on projects as people write them (a Dockerfile like the seed's, a
// multi-stage one, one that creates a user and runs as it, and a project with no Dockerfile laid
// out like the public FastAPI samples), then `shale build` of the written config with no hand
// edit, and the image run by podman and asked over HTTP. `python:3.11-slim` resolves (through
// SHALE_REGISTRY_MIRRORS) to a base laid out like the official image; packages come from a local
// index (PIP_INDEX_URL, as a company mirror would be set), so requirements files are as written.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { startSimpleIndex, type SimpleIndex } from '../support/simple-index.js';
import { writeProject } from '../support/project.js';
import { run, type RunResult } from './support/exec.js';
import { ensureOfficialLikeBase } from './support/official-like-base.js';
import { podmanRun, withImage } from './support/podman.js';
import { freePort } from './support/registry.js';
import { useRegistryWithBase } from './support/setup.js';
import { shale, shaleJson } from './support/shale.js';
import { ensureFastapiWheels, ensureRepackedWheels } from './support/wheels.js';

const ctx = useRegistryWithBase();
let mirror: SimpleIndex | undefined;
let ready: Promise<SimpleIndex> | undefined;

/**
 * Once per file, after the registry is up: python:3.11-slim in it becomes the official-like base
 * (python, python3 and site-packages in /usr/local, PYTHON_VERSION set), as on Docker Hub, and a
 * local index serves the FastAPI and Flask wheel sets.
 */
function setUp(): Promise<SimpleIndex> {
  ready ??= (async () => {
    const official = await ensureOfficialLikeBase(ctx.reg.host);
    const tls = ['--src-tls-verify=false', '--dest-tls-verify=false'];
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', ...tls, `docker://${official.ref}`, `docker://${ctx.reg.host}/library/python:3.11-slim`]);
    const fastapi = await ensureFastapiWheels();
    const flask = await ensureRepackedWheels(['Flask', 'Werkzeug', 'Jinja2', 'MarkupSafe', 'itsdangerous', 'click', 'blinker']);
    mirror = await startSimpleIndex([fastapi.dir, flask.dir]);
    return mirror;
  })();
  return ready;
}
after(async () => {
  await mirror?.close();
});

/** `shale init DIR` (must succeed), the config it wrote (shale.toml) parsed, and what it printed. */
async function init(dir: string): Promise<{ out: RunResult; text: string; config: Record<string, unknown> }> {
  await setUp();
  const out = await shale(['init', dir], ctx.env);
  assert.equal(out.exitCode, 0, `shale init failed:\n${out.stderr}`);
  const text = await readFile(join(dir, 'shale.toml'), 'utf8');
  return { out, text, config: JSON.parse(JSON.stringify(parseToml(text))) as Record<string, unknown> };
}

/** `shale build DIR --push` with the config exactly as init wrote it; returns the reference. */
async function build(dir: string, name: string): Promise<string> {
  const ref = `${ctx.reg.host}/demo/${name}:v1`;
  await shaleJson(['build', dir, '--push', ref], { ...ctx.env, PIP_INDEX_URL: (await setUp()).url });
  return ref;
}

/**
 * A FastAPI service's requirements.txt as `pip freeze` writes it (pinned: the wheels made from
 * Debian's packages leave some of their dependencies undeclared, so names alone would not do).
 */
const FASTAPI_REQUIREMENTS = [
  'anyio==3.6.2',
  'asgiref==3.6.0',
  'click==8.1.3',
  'fastapi==0.92.0',
  'h11==0.14.0',
  'idna==3.3',
  'pydantic==1.10.4',
  'sniffio==1.2.0',
  'starlette==0.26.1',
  'typing_extensions==4.4.0',
  'uvicorn==0.17.6',
  '',
].join('\n');

/** Python for main.py: whether the process can create a file in a directory. */
const CAN_WRITE = [
  'def can_write(d):',
  '    try:',
  '        with open(os.path.join(d, "probe"), "w") as f:',
  '            f.write("x")',
  '        return True',
  '    except OSError:',
  '        return False',
  '',
  '',
];

const FASTAPI_MAIN = `import os
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"message": "hello from fastapi", "cwd": os.getcwd()}
`;

test('the seed Dockerfile (apt gcc, WORKDIR /code, pip -r, COPY . ., EXPOSE, exec-form uvicorn CMD) builds and serves as written', async () => {
  const port = await freePort();
  const dir = await writeProject({
    Dockerfile: [
      'FROM python:3.11-slim',
      'RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*',
      'WORKDIR /code',
      'COPY requirements.txt .',
      'RUN pip install --no-cache-dir -r requirements.txt',
      'COPY . .',
      `EXPOSE ${port}`,
      `CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "${port}"]`,
      '',
    ].join('\n'),
    'requirements.txt': FASTAPI_REQUIREMENTS,
    'main.py': FASTAPI_MAIN,
  });
  const { out, text, config } = await init(dir);
  assert.equal(config.base, 'python:3.11-slim');
  assert.equal(config.workdir, '/code');
  assert.deepEqual(config.ports, [port]);
  assert.deepEqual(config.entrypoint, ['uvicorn', 'main:app', '--host', '0.0.0.0', '--port', String(port)]);
  assert.deepEqual(config.app, ['.']);
  assert.equal(config.python, undefined, 'the Python version is read from the base');
  assert.equal(config.user, undefined);
  assert.match(out.stderr, /left out gcc: Dockerfile installs them to compile; shale installs wheels/, 'the apt line is named, not dropped');
  assert.doesNotMatch(text, /system-packages/, 'a compiler is not carried into the image');
  const ref = await build(dir, 'init-seed');
  // validate agrees on what init wrote: the program, the module uvicorn imports (main.py in /code),
  // the packages where the image's python3 reads them (this stand-in base reaches
  // /usr/local/lib/python3.11/site-packages through a .pth file in dist-packages, which validate
  // follows as site.py does), and two builds give the same image.
  const checked = await shale(['validate', dir], { ...ctx.env, PIP_INDEX_URL: (await setUp()).url });
  assert.match(checked.stdout, /^PASS entrypoint: .*uvicorn is \/usr\/local\/bin\/uvicorn/m, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /^PASS app-entry: .*uvicorn main:app: module main is \/code\/main\.py/m);
  const site = '/usr/local/lib/python3.11/site-packages';
  const pth = '/usr/local/lib/python3.11/dist-packages/official-site-packages.pth';
  const pythonSite = checked.stdout.split('\n').find((l) => l.startsWith('PASS python-site: '));
  assert.ok(pythonSite?.includes(`in ${site}, which it reads (${site} through ${pth})`), checked.stdout);
  assert.match(checked.stdout, /^PASS reproducible:/m);
  await withImage(ref, { port }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.deepEqual(body, { message: 'hello from fastapi', cwd: '/code' });
  });
});

test('a multi-stage Dockerfile (builder pip --prefix, COPY --from, shell-form CMD python app.py) builds and serves as written', async () => {
  const port = await freePort();
  const dir = await writeProject({
    Dockerfile: [
      '# syntax=docker/dockerfile:1',
      'FROM python:3.11-slim AS builder',
      'RUN apt-get update && apt-get install -y --no-install-recommends build-essential',
      'WORKDIR /build',
      'COPY requirements.txt .',
      'RUN pip install --prefix=/install --no-cache-dir -r requirements.txt',
      '',
      'FROM python:3.11-slim',
      'WORKDIR /app',
      'COPY --from=builder /install /usr/local',
      'COPY app.py .',
      'COPY templates/ templates/',
      `ENV GREETING="hi there" PORT=${port}`,
      `EXPOSE ${port}`,
      'CMD python app.py',
      '',
    ].join('\n'),
    'requirements.txt': 'flask\n',
    'app.py': [
      'import os',
      'from flask import Flask, render_template',
      '',
      'app = Flask(__name__)',
      '',
      '',
      '@app.route("/")',
      'def index():',
      '    return render_template("index.html", greeting=os.environ["GREETING"])',
      '',
      '',
      'if __name__ == "__main__":',
      '    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))',
      '',
    ].join('\n'),
    'templates/index.html': '<p>{{ greeting }} from flask</p>\n',
    'notes.md': 'not copied by the Dockerfile\n',
  });
  const { out, config } = await init(dir);
  assert.equal(config.base, 'python:3.11-slim');
  assert.equal(config.workdir, '/app');
  assert.deepEqual(config.entrypoint, ['python', 'app.py']);
  assert.deepEqual(config.env, { GREETING: 'hi there', PORT: String(port) });
  assert.deepEqual(config.ports, [port]);
  assert.deepEqual(config.app, ['app.py', { from: 'templates', to: '/app/templates' }]);
  assert.match(out.stderr, /COPY --from=builder \/install \/usr\/local/, 'the builder copy is named');
  assert.match(out.stderr, /not carried over: Dockerfile's build stages install Debian packages \(build-essential\)/, "the builder's apt packages are named");
  const ref = await build(dir, 'init-multistage');
  await withImage(ref, { port }, async (c) => {
    assert.equal(await (await fetch(`${c.url}/`)).text(), '<p>hi there from flask</p>');
    const files = await podmanRun(ref, ['-c', 'import os; print(sorted(os.listdir(".")))'], { entrypoint: ['python3'], pull: 'never' });
    assert.equal(files.stdout.trim(), "['app.py', 'templates']", 'only what the Dockerfile copies is in the app');
  });
});

test('a Dockerfile that creates a user and runs as it (useradd, chown, USER, ENV, shell-form CMD) builds and serves as written', async () => {
  const port = await freePort();
  const dir = await writeProject({
    Dockerfile: [
      'FROM python:3.11-slim',
      'ENV PYTHONUNBUFFERED=1 \\',
      '    PYTHONDONTWRITEBYTECODE=1 \\',
      '    APP_HOME=/app \\',
      `    PORT=${port}`,
      'ENV DATA_DIR=$APP_HOME/data',
      'RUN useradd -m -u 10001 appuser',
      'WORKDIR $APP_HOME',
      'COPY requirements.txt .',
      'RUN pip install --no-cache-dir -r requirements.txt',
      'COPY . .',
      'RUN mkdir -p /app/data && chown -R appuser /app/data',
      'RUN python -c "import fastapi"',
      'USER appuser',
      `EXPOSE ${port}`,
      'CMD uvicorn main:app --host 0.0.0.0 --port $PORT',
      '',
    ].join('\n'),
    'requirements.txt': FASTAPI_REQUIREMENTS,
    'main.py': [
      'import os',
      'from fastapi import FastAPI',
      '',
      'app = FastAPI()',
      '',
      '',
      ...CAN_WRITE,
      '@app.get("/")',
      'def root():',
      '    data = os.environ["DATA_DIR"]',
      '    return {"uid": os.getuid(), "gid": os.getgid(), "data_writable": can_write(data), "app_writable": can_write("."),',
      '            "unbuffered": os.environ.get("PYTHONUNBUFFERED")}',
      '',
    ].join('\n'),
  });
  const { out, config } = await init(dir);
  assert.equal(config.workdir, '/app');
  assert.deepEqual(config.ports, [port]);
  assert.deepEqual(config.entrypoint, ['/bin/sh', '-c', 'uvicorn main:app --host 0.0.0.0 --port $PORT']);
  assert.deepEqual(config.env, { PYTHONUNBUFFERED: '1', APP_HOME: '/app', PORT: String(port), DATA_DIR: '/app/data' });
  assert.deepEqual(config.user, { name: 'appuser', uid: 10001, gid: 10001 }, 'created as the Dockerfile creates it');
  assert.deepEqual(config.writable, ['/app/data'], 'the chowned directory');
  assert.match(out.stderr, /not carried over: Dockerfile:13: RUN python -c "import fastapi"/);
  const ref = await build(dir, 'init-user');
  await withImage(ref, { port }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.deepEqual(body, { uid: 10001, gid: 10001, data_writable: true, app_writable: false, unbuffered: '1' });
    assert.equal((await podmanRun(ref, ['-un'], { entrypoint: ['id'], pull: 'never' })).stdout.trim(), 'appuser');
  });
});

test("a builder venv, adduser with no uid, COPY --chown, WORKDIR under the home: the venv's uvicorn runs from the image's python, as appuser", async () => {
  const port = await freePort();
  const dir = await writeProject({
    Dockerfile: [
      'FROM python:3.11-slim AS builder',
      'RUN python -m venv /opt/venv',
      'ENV PATH="/opt/venv/bin:$PATH"',
      'COPY requirements.txt .',
      'RUN pip install --no-cache-dir -r requirements.txt',
      '',
      'FROM python:3.11-slim',
      'RUN adduser --disabled-password --gecos "" appuser',
      'COPY --from=builder /opt/venv /opt/venv',
      'ENV PATH="/opt/venv/bin:$PATH"',
      'WORKDIR /home/appuser/app',
      'COPY --chown=appuser:appuser . .',
      'USER appuser',
      `EXPOSE ${port}`,
      `HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:${port}/')"`,
      `CMD ["/opt/venv/bin/uvicorn", "main:app", "--host", "0.0.0.0", "--port", "${port}"]`,
      '',
    ].join('\n'),
    '.dockerignore': 'Dockerfile\n.dockerignore\n',
    'requirements.txt': FASTAPI_REQUIREMENTS,
    'main.py': [
      'import os',
      'from fastapi import FastAPI',
      '',
      'app = FastAPI()',
      '',
      '',
      ...CAN_WRITE,
      '@app.get("/")',
      'def root():',
      '    home = os.path.expanduser("~")',
      '    return {"uid": os.getuid(), "home": home, "home_writable": can_write(home), "cwd": os.getcwd(), "files": sorted(os.listdir("."))}',
      '',
    ].join('\n'),
  });
  const { out, config } = await init(dir);
  assert.deepEqual(config.entrypoint, ['uvicorn', 'main:app', '--host', '0.0.0.0', '--port', String(port)], "the venv's bin is the image's PATH");
  assert.equal(config.workdir, '/home/appuser/app');
  assert.equal(config.env, undefined, 'PATH naming the venv is not carried over');
  assert.equal(config.user, 'appuser', 'created by shale, with the id it picks (adduser gave none)');
  assert.match(out.stderr, /not carried over: Dockerfile:15: HEALTHCHECK CMD python -c/);
  const ref = await build(dir, 'init-venv');
  await withImage(ref, { port }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    const files = ['main.py', 'requirements.txt', 'shale.toml'];
    // The home stays the user's (as adduser left it) though the workdir below it is the app's.
    assert.deepEqual(body, { uid: 10001, home: '/home/appuser', home_writable: true, cwd: '/home/appuser/app', files });
    assert.equal((await podmanRun(ref, ['-un'], { entrypoint: ['id'], pull: 'never' })).stdout.trim(), 'appuser');
  });
});

test('no Dockerfile, laid out as the FastAPI samples are (app/main.py, app/__init__.py): init finds the app and it serves', async () => {
  const dir = await writeProject({
    '.python-version': '3.11\n',
    'requirements.txt': FASTAPI_REQUIREMENTS,
    'app/__init__.py': '',
    'app/main.py': FASTAPI_MAIN,
    'tests/test_main.py': 'def test_nothing():\n    pass\n',
  });
  const { config } = await init(dir);
  assert.equal(config.base, 'python:3.11-slim');
  assert.deepEqual(config.entrypoint, ['python3', '-m', 'uvicorn', 'app.main:app', '--host', '0.0.0.0', '--port', '8000']);
  const ref = await build(dir, 'init-layout');
  const port = await freePort();
  // The written command listens on 8000; arguments after the image are appended to it, and
  // uvicorn takes the last --port, so the test runs it on a free port of the shared host network.
  await withImage(ref, { port, args: ['--port', String(port)] }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.deepEqual(body, { message: 'hello from fastapi', cwd: '/app' });
  });
});

test('no Dockerfile, a src layout (src/<pkg>/main.py): uvicorn finds the package through --app-dir and it serves', async () => {
  const dir = await writeProject({
    'pyproject.toml': '[project]\nname = "orders"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
    'requirements.txt': FASTAPI_REQUIREMENTS,
    'src/orders/__init__.py': '',
    'src/orders/main.py': FASTAPI_MAIN.replace('hello from fastapi', 'hello from orders'),
  });
  const out = await shale(['init', dir], ctx.env);
  assert.equal(out.exitCode, 0, out.stderr);
  const config = (parseToml(await readFile(join(dir, 'pyproject.toml'), 'utf8')) as { tool: { shale: Record<string, unknown> } }).tool.shale;
  assert.deepEqual(
    [...(config.entrypoint as string[])],
    ['python3', '-m', 'uvicorn', 'orders.main:app', '--app-dir', 'src', '--host', '0.0.0.0', '--port', '8000'],
  );
  const ref = await build(dir, 'init-src-layout');
  const port = await freePort();
  await withImage(ref, { port, args: ['--port', String(port)] }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.deepEqual(body, { message: 'hello from orders', cwd: '/app' });
  });
});

test('no Dockerfile and no entry point it can know: init leaves a commented TODO and writes no entrypoint', async () => {
  const dir = await writeProject({ '.python-version': '3.11\n', 'requirements.txt': 'flask\n', 'service/routes.py': 'ROUTES = []\n' });
  const { out, text, config } = await init(dir);
  assert.equal(config.entrypoint, undefined);
  assert.match(text, /^# TODO: set entrypoint/m);
  assert.match(out.stderr, /no entry point found/);
});
