import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadBuildSpec } from '../../../src/config/load.js';
import { writeProject } from '../../support/project.js';
import { InputError } from '../../../src/errors.js';

const project = (files: Record<string, string>): Promise<string> => writeProject(files);

const minimal = '[tool.shale]\nname = "hello"\nbase = "python:3.11-slim"\n';

async function inputError(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadBuildSpec(dir), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a minimal [tool.shale] gets the documented defaults', async () => {
  const dir = await project({ 'pyproject.toml': minimal, 'main.py': 'print(1)\n' });
  const spec = await loadBuildSpec(dir);
  assert.equal(spec.repository, 'hello');
  assert.deepEqual(spec.platforms, [{ os: 'linux', architecture: 'amd64' }]);
  assert.equal(spec.workdir, '/app');
  assert.deepEqual(spec.app, [{ from: dir, to: '/app', kind: 'dir' }]);
  assert.equal(spec.indexUrl, undefined, 'no index-url: the lock, PIP_INDEX_URL/UV_INDEX_URL or PyPI decide at build time');
  assert.equal(spec.lock, undefined);
});

test('domain prefixes the repository; shale.toml works at the top level; requirements.txt is the default lock', async () => {
  const dir = await project({
    'shale.toml': 'name = "api"\ndomain = "payments"\nbase = "python:3.11-slim"\napp = ["main.py", { from = "static", to = "/srv/static" }]\n',
    'main.py': '',
    'static/a.css': '',
    'requirements.txt': 'six==1.17.0\n',
  });
  const spec = await loadBuildSpec(dir);
  assert.equal(spec.repository, 'payments-api');
  assert.deepEqual(
    spec.app.map((a) => [a.to, a.kind]),
    [
      ['/app/main.py', 'file'],
      ['/srv/static', 'dir'],
    ],
  );
  assert.equal(spec.lock, join(dir, 'requirements.txt'));
});

test('invalid TOML names the file, line and column', async () => {
  await inputError(await project({ 'pyproject.toml': '[tool.shale]\nname = "x\n' }), /pyproject\.toml:2:\d+: invalid TOML/);
});

test('a wrong type names the key', async () => {
  await inputError(await project({ 'pyproject.toml': `${minimal}ports = "8000"\n` }), /`\[tool\.shale\]\.ports`: expected array/);
  await inputError(await project({ 'pyproject.toml': `${minimal}env = { PORT = 8000 }\n` }), /`\[tool\.shale\]\.env\.PORT`: expected string/);
});

test('an unknown key is named', async () => {
  await inputError(await project({ 'pyproject.toml': `${minimal}entry_point = ["x"]\n` }), /unknown key `entry_point` in \[tool\.shale\]/);
  await inputError(
    await project({ 'pyproject.toml': `${minimal}[[tool.shale.layers]]\nname = "deps"\npackage = "all"\n` }),
    /unknown key `package` in \[tool\.shale\]\.layers\[0\]/,
  );
});

test('a missing required key is named', async () => {
  await inputError(await project({ 'pyproject.toml': '[tool.shale]\nname = "x"\n' }), /missing required key `\[tool\.shale\]\.base`/);
});

test('an app path outside the project is refused', async () => {
  await inputError(
    await project({ 'pyproject.toml': `${minimal}app = ["../secrets"]\n` }),
    /`\[tool\.shale\]\.app\[0\]` path "\.\.\/secrets" is outside the project directory/,
  );
});

test('a missing project directory, a missing config and a bad platform are clear', async () => {
  await inputError('/nonexistent/shale-project', /project directory \/nonexistent\/shale-project does not exist/);
  await inputError(await project({ 'README.md': '' }), /no shale configuration .*shale init/);
  await inputError(await project({ 'pyproject.toml': `${minimal}platforms = ["amd64"]\n` }), /"amd64" is not a platform/);
});

test("[[layers]] entries with system-packages become system layers in config order; the Python layering stays shale's", async () => {
  const layer = (name: string, body: string): string => `[[tool.shale.layers]]\nname = "${name}"\n${body}\n`;
  const dir = await project({
    'pyproject.toml': `${minimal}system-packages = ["curl"]\n${layer('media', 'system-packages = ["ffmpeg", "libgomp1=12.2.0-14"]')}${layer('fonts', 'system-packages = ["fonts-dejavu-core"]')}`,
    'main.py': '',
  });
  const spec = await loadBuildSpec(dir);
  assert.deepEqual(spec.systemPackages, ['curl']);
  assert.deepEqual(spec.systemLayers, [
    { name: 'media', packages: ['ffmpeg', 'libgomp1=12.2.0-14'] },
    { name: 'fonts', packages: ['fonts-dejavu-core'] },
  ]);
  assert.equal(spec.layers, undefined, 'no Python package named: shale chooses their layers');

  const mixed = await loadBuildSpec(
    await project({ 'pyproject.toml': `${minimal}${layer('os', 'system-packages = ["curl"]')}${layer('deps', 'packages = "all"')}`, 'main.py': '' }),
  );
  assert.deepEqual(mixed.layers, [{ name: 'deps', packages: 'all' }]);
  assert.deepEqual(mixed.systemLayers, [{ name: 'os', packages: ['curl'] }]);
});

test('bad [[layers]] system-packages are named: mixed with packages or paths, a bad name, empty, a clash with "system" or another layer', async () => {
  const layer = (name: string, body: string): string => `[[tool.shale.layers]]\nname = "${name}"\n${body}\n`;
  const bad = async (body: string, pattern: RegExp): Promise<void> =>
    inputError(await project({ 'pyproject.toml': `${minimal}${body}`, 'main.py': '' }), pattern);
  await bad(layer('os', 'system-packages = ["curl"]\npackages = "all"'), /layers\[0\]` \(layer "os"\) has system-packages and packages; .*own layer/);
  await bad(layer('os', 'system-packages = ["curl"]\npaths = ["lib"]'), /layer "os"\) has system-packages and paths/);
  await bad(layer('os', 'system-packages = ["Curl!"]'), /`\[tool\.shale\]\.layers\[0\]\.system-packages\[0\]`.*Debian package name/);
  await bad(layer('os', 'system-packages = []'), /`\[tool\.shale\]\.layers\[0\]\.system-packages`/);
  await bad(
    `system-packages = ["curl"]\n${layer('system', 'system-packages = ["libpq5"]')}`,
    /a \[\[layers\]\] entry is named "system", the name of the layer of the top-level system-packages/,
  );
  await bad(
    `system-packages = ["curl"]\n${layer('system-all', 'system-packages = ["libpq5"]')}`,
    /named "system-all", the name of the Architecture: all packages of system layer "system"/,
  );
  await bad(
    `${layer('media', 'system-packages = ["ffmpeg"]')}${layer('media-all', 'packages = "all"')}`,
    /named "media-all", the name of the Architecture: all packages of system layer "media"/,
  );
  await bad(layer('app', 'system-packages = ["curl"]'), /named "app", the name of the app layer/);
  await bad(`${layer('os', 'system-packages = ["curl"]')}${layer('os', 'packages = "all"')}`, /two layers are named "os"/);
});
