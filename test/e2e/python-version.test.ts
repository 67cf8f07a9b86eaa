// End to end: the base's own Python decides the version wheels are chosen for and the directory
// packages go to, with no `python` key: Debian's python3 (the e2e base: /usr/bin/python3.11, no
// PYTHON_VERSION) is read from the base's layer, and the official-like base says it in its Env.
// Each image's interpreter is asked for its sys.path, which must hold the directory shale
// installed into (read from the image's own layer, not guessed), and the package imports. A
// `python` key naming another version is an error naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { run } from './support/exec.js';
import { ensureOfficialLikeBase, OFFICIAL_LIKE_PYTHON_VERSION } from './support/official-like-base.js';
import { podmanRun, removeImages, skopeoRawManifest } from './support/podman.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { makeWheel } from '../unit/python/helpers.js';
import { hashFile } from '../../src/python/wheel-cache.js';

const ctx = useRegistryWithBase();

/** An app that imports `greeting` (a hand-made pure wheel, pinned by hash), with `keys` in shale.toml. */
async function greetingApp(keys: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-pyversion-'));
  await mkdir(join(dir, 'wheels'));
  const wheel = makeWheel(join(dir, 'wheels'), { name: 'greeting', version: '1.0', files: [{ name: 'greeting/__init__.py', data: 'WORD = "hello"\n' }] });
  await writeFile(join(dir, 'requirements.txt'), `greeting==1.0 --hash=sha256:${await hashFile(wheel.path)}\n`);
  await writeFile(join(dir, 'main.py'), 'import greeting\nprint(greeting.WORD)\n');
  await writeFile(
    join(dir, 'shale.toml'),
    `name = "pyversion"\n${keys}entrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["wheels"]\nno-index = true\n`,
  );
  return dir;
}

/** The directory holding `greeting/` in the image's own layers (from its OCI layout), as an absolute path. */
async function installedSite(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.replace('sha256:', ''));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: { digest: string; annotations?: Record<string, string> }[];
  };
  for (const l of manifest.layers.filter((x) => x.annotations?.['dev.shale.layer.name'])) {
    const names = (await run('tar', ['-tzf', blob(l.digest)])).stdout.split('\n');
    const init = names.find((n) => n.endsWith('/greeting/__init__.py'));
    if (init) return `/${posix.dirname(posix.dirname(init.replace(/^\.\//, '')))}`;
  }
  return assert.fail('no layer holds greeting/__init__.py');
}

/** Builds `dir` to a registry and a layout; returns the pushed reference and the site directory shale used. */
async function buildAndFindSite(dir: string, name: string): Promise<{ ref: string; site: string; python: string | undefined }> {
  const ref = `${ctx.reg.host}/demo/${name}:v1`;
  const layout = join(dir, 'out');
  await shaleJson(['build', dir, '--push', ref, '--oci', layout], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const annotations = (await skopeoRawManifest(ref)).json['annotations'] as Record<string, string>;
  return { ref, site: await installedSite(layout), python: annotations['dev.shale.base.python'] };
}

/** The image's interpreter's sys.path, and what its app prints. */
async function askImage(ref: string): Promise<{ path: string[]; app: string }> {
  const sysPath = await podmanRun(ref, ['-c', 'import json, sys; print(json.dumps(sys.path))'], { entrypoint: ['python3'] });
  const app = await podmanRun(ref, []);
  return { path: JSON.parse(sysPath.stdout.trim()) as string[], app: app.stdout.trim() };
}

test("Debian's python3 and no python key: the version is read from the base, packages go where its sys.path looks", async () => {
  const dir = await greetingApp('base = "python:3.11-slim"\n');
  const built = await buildAndFindSite(dir, 'pyversion-debian');
  try {
    assert.equal(built.python, '3.11 debian', 'recorded on the image for the next build');
    assert.equal(built.site, '/usr/local/lib/python3.11/dist-packages');
    const asked = await askImage(built.ref);
    assert.ok(asked.path.includes(built.site), `${built.site} not in the image's sys.path: ${asked.path.join(' ')}`);
    assert.equal(asked.app, 'hello');
  } finally {
    await removeImages(built.ref);
  }
});

test('the official-like base (PYTHON_VERSION, python in /usr/local) and no python key: site-packages, on its sys.path', async () => {
  await ensureOfficialLikeBase(ctx.reg.host);
  const dir = await greetingApp('base = "python:3.11-official"\n');
  const built = await buildAndFindSite(dir, 'pyversion-official');
  try {
    assert.equal(built.python, '3.11 official');
    assert.equal(built.site, '/usr/local/lib/python3.11/site-packages');
    const asked = await askImage(built.ref);
    assert.ok(asked.path.includes(built.site), `${built.site} not in the image's sys.path: ${asked.path.join(' ')}`);
    assert.equal(asked.app, 'hello');
  } finally {
    await removeImages(built.ref);
  }
});

test('python = "3.12" on a 3.11 base is an error naming both versions, on either kind of base', async () => {
  const debian = await greetingApp('base = "python:3.11-slim"\npython = "3.12"\n');
  const r = await shale(['build', debian, '--oci', join(debian, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(
    r.stderr,
    /python = "3\.12" in \[tool\.shale\], but base image docker\.io\/library\/python:3\.11-slim has Python 3\.11 \(\/usr\/bin\/python3 → \/usr\/bin\/python3\.11\)/,
  );
  assert.doesNotMatch(r.stderr, /looks like a bug/);

  await ensureOfficialLikeBase(ctx.reg.host);
  const official = await greetingApp('base = "python:3.11-official"\npython = "3.12"\n');
  const r2 = await shale(['build', official, '--oci', join(official, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r2.exitCode, 2, r2.stderr);
  assert.match(
    r2.stderr,
    new RegExp(
      `python = "3\\.12" in \\[tool\\.shale\\], but base image .*python:3\\.11-official has Python 3\\.11 \\(PYTHON_VERSION=${OFFICIAL_LIKE_PYTHON_VERSION.replace(/\./g, '\\.')}\\)`,
    ),
  );
});
