// End to end: console scripts shale writes run in the image and answer --version, on the Debian
// python base (python3 in /usr/bin, packages in /usr/local/lib/python3.11/dist-packages) and on
// a base laid out like the official python images (python in /usr/local, PYTHON_VERSION in the
// Env, packages in site-packages; see support/official-like-base.ts for how it is made).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { ensureOfficialLikeBase } from './support/official-like-base.js';
import { podmanRun, removeImages } from './support/podman.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { shaleJson } from './support/shale.js';
import { makeWheel } from '../unit/python/helpers.js';
import { hashFile } from '../../src/python/wheel-cache.js';

const ctx = useRegistryWithBase();
const FLASK = ['Flask', 'Werkzeug', 'Jinja2', 'MarkupSafe', 'itsdangerous', 'click', 'blinker'];

/** An app with Flask (a real console script) and a hand-made wheel whose script is `hello-cli`. */
async function scriptsApp(baseKeys: string): Promise<string> {
  const set = await ensureRepackedWheels(FLASK);
  const dir = await mkdtemp(join(tmpdir(), 'shale-scripts-'));
  const wheels = join(dir, 'wheels');
  await mkdir(wheels);
  for (const w of await readdir(set.dir)) if (w.endsWith('.whl')) await copyFile(join(set.dir, w), join(wheels, w));
  const cli = makeWheel(wheels, {
    name: 'hello_cli',
    version: '1.2.3',
    files: [
      {
        name: 'hello_cli.py',
        data: 'import sys\ndef main():\n    if "--version" in sys.argv:\n        print("hello-cli 1.2.3 on", sys.executable)\n    return 0\n',
      },
    ],
    entryPoints: '[console_scripts]\nhello-cli = hello_cli:main\n',
  });
  await writeFile(join(dir, 'requirements.txt'), `${await readFile(set.requirements, 'utf8')}hello-cli==1.2.3 --hash=sha256:${await hashFile(cli.path)}\n`);
  await writeFile(join(dir, 'main.py'), 'print("ok")\n');
  await writeFile(
    join(dir, 'shale.toml'),
    `name = "scripts"\n${baseKeys}entrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["wheels"]\nno-index = true\n`,
  );
  return dir;
}

async function checkScripts(ref: string, site: string, interpreter: string): Promise<void> {
  try {
    const flask = await podmanRun(ref, ['--version'], { entrypoint: ['flask'] });
    assert.match(flask.stdout, /Flask \d+\.\d+/);
    const hello = await podmanRun(ref, ['--version'], { entrypoint: ['hello-cli'] });
    assert.match(hello.stdout, /^hello-cli 1\.2\.3 on /);
    const where = await podmanRun(
      ref,
      ['-c', 'import flask, hello_cli; print(flask.__file__); print(hello_cli.__file__); print(open("/usr/local/bin/flask").readline().strip())'],
      { entrypoint: ['python3'] },
    );
    const [flaskFile, cliFile, shebang] = where.stdout.trim().split('\n');
    assert.equal(flaskFile, `${site}/flask/__init__.py`);
    assert.equal(cliFile, `${site}/hello_cli.py`);
    assert.equal(shebang, `#!${interpreter}`);
  } finally {
    await removeImages(ref);
  }
}

test('console scripts answer --version on the Debian python base', async () => {
  const dir = await scriptsApp('base = "python:3.11-slim"\npython = "3.11"\n');
  const ref = `${ctx.reg.host}/demo/scripts-debian:v1`;
  await shaleJson(['build', dir, '--push', ref], ctx.env);
  await checkScripts(ref, '/usr/local/lib/python3.11/dist-packages', '/usr/bin/python3');
});

test('console scripts answer --version on a base laid out like the official python image', async () => {
  await ensureOfficialLikeBase(ctx.reg.host);
  // No `python` key: the version comes from the base's PYTHON_VERSION, as with python:3.11-slim.
  const dir = await scriptsApp('base = "python:3.11-official"\n');
  const ref = `${ctx.reg.host}/demo/scripts-official:v1`;
  const out = await shaleJson(['build', dir, '--push', ref], ctx.env);
  assert.equal(out.layers.filter((l) => l.source === 'base').length, 2);
  await checkScripts(ref, '/usr/local/lib/python3.11/site-packages', '/usr/local/bin/python3');
});
