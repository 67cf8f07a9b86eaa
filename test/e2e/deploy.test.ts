// End to end: `shale deploy` pins what `shale build --push` pushed to a real registry by digest.
// The dry run prints the kubectl command with the build's digest; a fake kubectl (first on PATH)
// records that a real run passes exactly that image, from --image and from --from-json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { useRegistryWithBase } from './support/setup.js';
import { shale } from './support/shale.js';
import { deploymentJson, fakeTools } from '../unit/deploy/fake-tools.js';

const ctx = useRegistryWithBase();

test('deploy kubernetes: the pushed build, by digest (dry run, fake kubectl, --from-json)', async () => {
  const ref = `${ctx.reg.host}/demo/deploy-hello:v1`;
  const built = await shale(['build', join(repoRoot(), 'examples', 'hello_python'), '--push', ref, '--json'], ctx.env);
  assert.equal(built.exitCode, 0, built.stderr);
  const out = JSON.parse(built.stdout) as { digest: string; reference?: string };
  assert.match(out.digest, /^sha256:[a-f0-9]{64}$/);
  assert.equal(out.reference, ref);
  const pinned = `${ctx.reg.host}/demo/deploy-hello@${out.digest}`;

  const fake = await fakeTools(deploymentJson('web', ['hello']));
  const env = { ...ctx.env, ...fake.env({ PATH: `${fake.dir}${delimiter}${process.env['PATH'] ?? ''}` }) };

  const dry = await shale(['deploy', 'kubernetes', '--image', ref, '--deployment', 'web', '--dry-run'], env);
  assert.equal(dry.exitCode, 0, dry.stderr);
  assert.equal(dry.stdout, `kubectl set image deployment/web hello=${pinned}\n`);
  assert.deepEqual(
    (await fake.calls()).map((c) => c.argv.slice(0, 2)),
    [['get', 'deployment']],
  );

  const real = await shale(['deploy', 'kubernetes', '--image', ref, '--deployment', 'web', '--wait'], env);
  assert.equal(real.exitCode, 0, real.stderr);
  assert.equal(real.stdout, `${pinned}\n`);
  const calls = (await fake.calls()).slice(1);
  assert.deepEqual(
    calls.map((c) => c.argv),
    [
      ['get', 'deployment', 'web', '-o', 'json'],
      ['set', 'image', 'deployment/web', `hello=${pinned}`],
      ['rollout', 'status', 'deployment/web', '--timeout=5m'],
    ],
  );

  // Offline: the digest comes from the build's JSON, not from the registry (which is not asked).
  const json = join(await mkdtemp(join(tmpdir(), 'shale-deploy-e2e-')), 'build.json');
  await writeFile(json, built.stdout);
  const offline = await shale(['deploy', 'kubernetes', '--from-json', json, '--deployment', 'web', '--container', 'hello', '--dry-run'], {
    ...env,
    PATH: `${join(fake.dir, 'none')}`,
  });
  assert.equal(offline.exitCode, 0, offline.stderr);
  assert.equal(offline.stdout, `kubectl set image deployment/web hello=${pinned}\n`);

  const azure = await shale(['deploy', 'azure-containerapp', '--image', ref, '--name', 'hello', '--resource-group', 'rg'], env);
  assert.equal(azure.exitCode, 0, azure.stderr);
  assert.deepEqual((await fake.calls()).at(-1), {
    tool: 'az',
    argv: ['containerapp', 'update', '--name', 'hello', '--resource-group', 'rg', '--image', pinned],
  });
});

test('deploy: an image the registry lacks is exit 2; a failing kubectl is exit 1 with its stderr', async () => {
  const fake = await fakeTools(deploymentJson('web', ['hello']));
  const env = {
    ...ctx.env,
    ...fake.env({
      PATH: `${fake.dir}${delimiter}${process.env['PATH'] ?? ''}`,
      FAKE_FAIL_ON: 'set image',
      FAKE_FAIL_STDERR: 'error: You must be logged in to the server (Unauthorized)\n',
    }),
  };
  const missing = await shale(['deploy', 'kubernetes', '--image', `${ctx.reg.host}/demo/never-pushed:v1`, '--deployment', 'web'], env);
  assert.equal(missing.exitCode, 2, missing.stderr);
  assert.match(missing.stderr, /never-pushed:v1 not found in registry/);
  assert.equal((await fake.calls()).length, 0);

  const base = `${ctx.reg.host}/library/python:3.11-slim`;
  const failed = await shale(['deploy', 'kubernetes', '--image', base, '--deployment', 'web'], env);
  assert.equal(failed.exitCode, 1, failed.stderr);
  assert.match(
    failed.stderr,
    /^\+ kubectl set image deployment\/web hello=.*@sha256:[a-f0-9]{64}\nerror: `kubectl set image .*` exited with 3:\nerror: You must be logged in to the server \(Unauthorized\)\n$/,
  );
});
