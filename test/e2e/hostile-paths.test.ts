// Hostile and messy project trees through the real CLI: a symlink to /etc, a lock that is a
// symlink to a host secret, secrets the default excludes keep out, a name that is not UTF-8,
// and thousands of files under a small descriptor limit. Refusals exit 2 with one paragraph and
// write nothing; what is built is read back from the layer and run with podman.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { run } from './support/exec.js';
import { podmanRun } from './support/podman.js';
import { shale, shaleBin, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();

const CONFIG = (extra = '') => `[tool.shale]\nname = "hostile"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\n${extra}`;

async function project(extra = '', files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-hostile-'));
  for (const [p, text] of Object.entries({ 'pyproject.toml': CONFIG(extra), 'main.py': 'print("hi")\n', ...files })) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  return dir;
}

/** The app layer (the last) of the image in an OCI layout, listed by `tar tzv`. */
async function appLayerListing(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (d: string) => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { layers: { digest: string }[] };
  return (await run('tar', ['tzvf', blob(manifest.layers.at(-1)!.digest)])).stdout;
}

/** Exit 2, one paragraph naming the problem, no stack trace, nothing on stdout, no output written. */
async function refused(dir: string, message: RegExp): Promise<string> {
  const out = join(dir, 'out');
  const r = await shale(['build', dir, '--oci', out], ctx.env);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at |looks like a bug/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(out), false, 'no output written');
  assert.equal(existsSync(join(dir, '.shale', 'image')), false);
  return r.stderr;
}

test('app = ["etclink"] with etclink -> /etc: exit 2 naming the key, where it leads, and nothing written', async () => {
  const dir = await project('app = ["etclink"]\n');
  await symlink('/etc', join(dir, 'etclink'));
  await refused(dir, /`\[tool\.shale\]\.app\[0\]` path "etclink" resolves to \/etc \(through a symlink\), outside the project directory/);
});

test('a symlink to /etc inside the app directory, and a lock linked to a host secret: refused without reading them', async () => {
  const dir = await project();
  await symlink('/etc', join(dir, 'etclink'));
  await refused(dir, /etclink is a symlink to "\/etc", which resolves to \/etc, outside the project directory .*\.shaleignore/);

  const host = await mkdtemp(join(tmpdir(), 'shale-host-'));
  await writeFile(join(host, 'shadow'), 'root:$6$hostsecret:19000:0:99999:7:::\n');
  const dir2 = await project('lock = "requirements.txt"\n');
  await symlink(join(host, 'shadow'), join(dir2, 'requirements.txt'));
  const err = await refused(dir2, /`\[tool\.shale\]\.lock` path "requirements\.txt" resolves to .*shadow \(through a symlink\), outside the project directory/);
  assert.doesNotMatch(err, /hostsecret/);
});

test('inside symlinks are symlinks in the image; secrets stay out unless taken back with !pattern', async () => {
  const dir = await project('', {
    'pkg/impl.py': 'VALUE = "through the link"\n',
    '.env.production': 'DB_PASSWORD=x',
    '.env.example': 'DB_PASSWORD=',
    'deploy/id_ed25519': 'key',
    '.aws/credentials': '[default]',
    '.shaleignore': '!.env.example\n',
  });
  await writeFile(join(dir, 'main.py'), 'from pkg.alias import VALUE\nprint(VALUE)\n');
  await symlink('impl.py', join(dir, 'pkg', 'alias.py'));
  await symlink('pkg', join(dir, 'lib'));
  await symlink('user@host.42:1700000000', join(dir, '.#main.py')); // an editor's lock file: dangling
  const layout = join(dir, '.shale', 'image');
  const r = await shale(['build', dir, '--oci', layout], ctx.env);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /note: left out \.env\.production \(default exclude \.env\*\)/);
  assert.match(r.stderr, /note: left out \.aws\/ \(default exclude \.aws\)/);
  assert.match(r.stderr, /warning: left out \.#main\.py: it is a symlink to "user@host\.42:1700000000", which does not exist/);
  const listing = await appLayerListing(layout);
  assert.match(listing, /^l\S+ .* app\/pkg\/alias\.py -> impl\.py$/m);
  assert.match(listing, /^l\S+ .* app\/lib -> pkg$/m);
  assert.match(listing, / app\/\.env\.example$/m);
  for (const gone of ['.env.production', 'id_ed25519', '.aws', '.#main.py']) assert.ok(!listing.includes(gone), `${gone} is in the layer:\n${listing}`);

  const ref = `${ctx.reg.host}/demo/hostile-links:1`;
  await shaleJson(['build', dir, '--push', ref], ctx.env);
  const link = await podmanRun(ref, ['-c', 'readlink /app/pkg/alias.py /app/lib; python3 /app/main.py'], { entrypoint: ['sh'] });
  assert.equal(link.stdout, 'impl.py\npkg\nthrough the link\n');
});

test('a file name that is not UTF-8: exit 2 naming it with \\xNN; left out by .shaleignore, the build works', async () => {
  const dir = await project();
  await mkdir(join(dir, 'data'));
  await writeFile(Buffer.concat([Buffer.from(join(dir, 'data', 'r')), Buffer.from([0xe9]), Buffer.from('sum\u00e9.txt')]), 'latin-1 name');
  await refused(dir, /data\/r\\xe9sumé\.txt has a name that is not valid UTF-8 .*rename it/);
  await writeFile(join(dir, '.shaleignore'), 'data/r*sum*.txt\n');
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], ctx.env);
  assert.equal(r.exitCode, 0, r.stderr);
});

test('3000 files under `ulimit -n 256`: the build succeeds', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) files[`pkg${Math.floor(i / 500)}/m${i}.py`] = `X = ${i}\n`;
  const dir = await project('', files);
  const out = join(dir, 'out');
  const r = await run('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, shaleBin(), 'build', dir, '--oci', out], {
    env: ctx.env,
    allowFailure: true,
    timeoutMs: 5 * 60_000,
  });
  assert.equal(r.exitCode, 0, r.stderr);
  const listing = await appLayerListing(out);
  assert.equal(listing.split('\n').filter((l) => / app\/pkg\d\/m\d+\.py$/.test(l)).length, 3000);
});
