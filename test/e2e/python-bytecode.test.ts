// End to end: compile-bytecode = true and ca-certs = true on the Debian python base. The image's
// python3 finds the .pyc files shale compiled (hash-based, unchecked) where it looks for them,
// the app runs, the CA bundle layer is there with SSL_CERT_FILE, and two builds from empty
// caches give the same digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { podmanRun, removeImages } from './support/podman.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { freshCache, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();

async function bytecodeApp(): Promise<string> {
  const set = await ensureRepackedWheels(['six', 'PyYAML']);
  const dir = await mkdtemp(join(tmpdir(), 'shale-bytecode-'));
  await writeFile(join(dir, 'requirements.txt'), await readFile(set.requirements, 'utf8'));
  await writeFile(join(dir, 'main.py'), 'import six, yaml\nprint("ok", six.__version__, yaml.safe_dump({"a": 1}).strip())\n');
  await writeFile(
    join(dir, 'shale.toml'),
    `name = "bytecode"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["${set.dir}"]\nno-index = true\ncompile-bytecode = true\nca-certs = true\n`,
  );
  return dir;
}

const CHECK = [
  'import importlib.util, os, six, ssl, hashlib',
  'p = importlib.util.cache_from_source(six.__file__)',
  'print(p)',
  'print(os.path.isfile(p), six.__spec__.cached == p)',
  'print(int.from_bytes(open(p, "rb").read()[4:8], "little"))',
  'print(os.environ.get("SSL_CERT_FILE"), len(ssl.create_default_context().get_ca_certs()) > 0)',
  'print(hashlib.sha256(open("/etc/ssl/certs/ca-certificates.crt", "rb").read()).hexdigest())',
].join('\n');

test('compile-bytecode and ca-certs: the image uses the .pyc files and the CA bundle; builds are reproducible', async () => {
  const dir = await bytecodeApp();
  const ref1 = `${ctx.reg.host}/demo/bytecode-a:v1`;
  const ref2 = `${ctx.reg.host}/demo/bytecode-b:v1`;
  // Two fresh runners: nothing cached locally, and each pushes to a repository of its own.
  const first = await shaleJson(['build', dir, '--push', ref1], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const second = await shaleJson(['build', dir, '--push', ref2], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(second.digest, first.digest, 'the same inputs give the same image');
  assert.ok(
    second.layers.filter((l) => l.source !== 'base').every((l) => l.source === 'built'),
    'the second build compiled again',
  );

  const names = first.layers.filter((l) => l.source !== 'base').map((l) => l.name);
  assert.equal(names[0], 'ca-certs', `ca-certs comes first above the base: ${names.join(', ')}`);
  assert.equal(names.at(-1), 'app');

  try {
    const run = await podmanRun(ref1, []);
    assert.match(run.stdout, /^ok 1\.\d+\.\d+ a: 1$/m);
    const out = await podmanRun(ref1, ['-c', CHECK], { entrypoint: ['python3'] });
    const [pyc, found, flags, ssl, bundle] = out.stdout.trim().split('\n');
    assert.equal(pyc, '/usr/local/lib/python3.11/dist-packages/__pycache__/six.cpython-311.pyc');
    assert.equal(found, 'True True');
    assert.equal(flags, '1', 'hash-based, unchecked');
    assert.equal(ssl, '/etc/ssl/certs/ca-certificates.crt True');
    assert.equal(
      bundle,
      createHash('sha256')
        .update(await readFile('/etc/ssl/certs/ca-certificates.crt'))
        .digest('hex'),
    );
  } finally {
    await removeImages(ref1);
  }
});
