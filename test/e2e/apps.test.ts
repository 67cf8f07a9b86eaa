// End to end with real packages: a monorepo app with a local library and explicit layers, and an
// app with 100+ MB (installed) of real wheels, native ones included. Built, pushed to a real
// registry, pulled and run by podman, and asked over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { freePort } from './support/registry.js';
import { podmanRun, withImage } from './support/podman.js';
import { ensureRealWheels } from './support/wheels.js';
import { shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();

test('monorepo: explicit layers pip_deps → libs → app; the local library imports by name', async () => {
  const dir = join(repoRoot(), 'examples', 'monorepo');
  await run('sh', [join(dir, 'fetch-wheels.sh')]);
  const ref = `${ctx.reg.host}/demo/ledger-api:v1`;
  const out = await shaleJson(['build', dir, '--push', ref], ctx.env);
  assert.deepEqual(
    out.layers.filter((l) => l.source !== 'base').map((l) => l.name),
    ['pip_deps', 'libs', 'app'],
  );
  const port = await freePort();
  await withImage(ref, { port }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.equal(body.message, 'hello from shale');
    assert.equal(typeof body.ledger_core, 'string');
    const meta = await podmanRun(ref, ['-c', 'import importlib.metadata as m, ledger_core; print(m.version("ledger-core"), ledger_core.__file__)'], {
      entrypoint: ['python3'],
    });
    assert.match(meta.stdout, /dist-packages\/ledger_core\/__init__\.py/);
  });
});

const BIG_APP = `import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import numpy, scipy, scipy.linalg, pydantic, flask, yaml, requests, boto3

class Versions(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "det": float(scipy.linalg.det(numpy.array([[2.0, 0.0], [0.0, 3.0]]))),
            "yaml": yaml.safe_load("a: [1, 2]"),
            "libyaml": bool(yaml.__with_libyaml__),
            "pydantic": pydantic.VERSION,
            "numpy": numpy.__version__, "flask": flask.__version__ if hasattr(flask, "__version__") else "?",
            "boto3": boto3.__version__, "requests": requests.__version__,
        }).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers(); self.wfile.write(body)

ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Versions).serve_forever()
`;

test('an app with 100+ MB of real wheels (numpy, scipy, pydantic, Flask, boto3, PyYAML) builds, runs and answers', async () => {
  const wheels = await ensureRealWheels();
  const dir = await mkdtemp(join(tmpdir(), 'shale-big-'));
  await mkdir(join(dir, 'wheels'));
  for (const w of await readdir(wheels.dir)) if (w.endsWith('.whl')) await copyFile(join(wheels.dir, w), join(dir, 'wheels', w));
  await copyFile(wheels.requirements, join(dir, 'requirements.txt'));
  await writeFile(join(dir, 'main.py'), BIG_APP);
  await writeFile(
    join(dir, 'pyproject.toml'),
    '[tool.shale]\nname = "big"\ndomain = "demo"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\nfind-links = ["wheels"]\nno-index = true\nexclude = ["wheels/"]\n',
  );
  const ref = `${ctx.reg.host}/demo/big:v1`;
  const out = await shaleJson(['build', dir, '--push', ref], ctx.env);
  const ours = out.layers.filter((l) => l.source !== 'base');
  const total = ours.reduce((n, l) => n + l.size, 0);
  assert.ok(total > 50e6, `the dependency layers hold the wheels (${total} bytes compressed)`);
  assert.ok(
    ours.some((l) => l.name === 'pkg-scipy') && ours.some((l) => l.name === 'pkg-numpy'),
    `large packages get their own layers: ${ours.map((l) => l.name).join(', ')}`,
  );
  const port = await freePort();
  await withImage(ref, { port, waitMs: 120_000 }, async (c) => {
    const body = (await (await fetch(`${c.url}/`)).json()) as Record<string, unknown>;
    assert.equal(body.det, 6);
    assert.deepEqual(body.yaml, { a: [1, 2] });
    assert.equal(body.libyaml, true, 'the native PyYAML extension loads');
    const flask = await podmanRun(ref, ['--version'], { entrypoint: ['flask'] });
    assert.match(flask.stdout, /Flask \d/);
  });
  // The same inputs again: every layer from the local cache, the same digest, nothing uploaded.
  const again = await shaleJson(['build', dir, '--push', ref], ctx.env);
  assert.equal(again.digest, out.digest);
  assert.ok(again.layers.filter((l) => l.source !== 'base').every((l) => l.source === 'cache'));
  assert.equal(again.pushed.bytes, 0);
});
