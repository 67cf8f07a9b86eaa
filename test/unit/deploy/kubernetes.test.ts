// `deployKubernetes` against a fake kubectl: the exact argv of each call, the digest form of the
// image, how the container is chosen, dry runs, --wait, and how failures come back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShaleError } from '../../../src/errors.js';
import { deployKubernetes } from '../../../src/deploy/kubernetes.js';
import type { PinnedImage } from '../../../src/deploy/resolve.js';
import type { Digest } from '../../../src/oci/types.js';
import { deploymentJson, fakeTools } from './fake-tools.js';

const DIGEST = `sha256:${'ab'.repeat(32)}` as Digest;
const IMAGE: PinnedImage = { registry: '127.0.0.1:5000', repository: 'demo/hello', digest: DIGEST };
const PINNED = `127.0.0.1:5000/demo/hello@${DIGEST}`;

/** Asserts `p` rejects with a ShaleError of this exit code whose message matches `re`. */
async function rejectsWith(p: Promise<unknown>, exitCode: 1 | 2, re: RegExp): Promise<ShaleError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShaleError, `expected a ShaleError, got ${String(err)}`);
  assert.equal(err.exitCode, exitCode, err.message);
  assert.match(err.message, re);
  return err;
}

describe('deploy kubernetes', () => {
  it("updates the deployment's only container to repo@sha256:…, found with kubectl get", async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    const r = await deployKubernetes(IMAGE, { deployment: 'web' }, { env: fake.env() });
    assert.deepEqual(await fake.calls(), [
      { tool: 'kubectl', argv: ['get', 'deployment', 'web', '-o', 'json'] },
      { tool: 'kubectl', argv: ['set', 'image', 'deployment/web', `app=${PINNED}`] },
    ]);
    assert.equal(r.image, PINNED);
    assert.equal(r.container, 'app');
  });

  it('a named container skips the lookup; --namespace and --context go to every call', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app', 'sidecar']));
    await deployKubernetes(IMAGE, { deployment: 'web', container: 'sidecar', namespace: 'prod', context: 'aks-east' }, { env: fake.env() });
    assert.deepEqual(await fake.calls(), [
      { tool: 'kubectl', argv: ['set', 'image', 'deployment/web', `sidecar=${PINNED}`, '--namespace=prod', '--context=aks-east'] },
    ]);
  });

  it('several containers and none named: exit 2 listing them, nothing changed', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app', 'envoy']));
    await rejectsWith(
      deployKubernetes(IMAGE, { deployment: 'web' }, { env: fake.env() }),
      2,
      /deployment web has 2 containers \(app, envoy\); say which to update with --container NAME/,
    );
    assert.deepEqual(
      (await fake.calls()).map((c) => c.argv[0]),
      ['get'],
    );
  });

  it('--wait runs rollout status after set image, with the timeout', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    const events: string[] = [];
    await deployKubernetes(
      IMAGE,
      { deployment: 'web', container: 'app', wait: true, timeout: '90s', namespace: 'prod' },
      {
        env: fake.env(),
        events: (e) => events.push(e.type === 'step' ? `step ${e.detail ?? ''}` : e.type === 'log' ? `log ${e.message}` : e.type),
      },
    );
    assert.deepEqual(
      (await fake.calls()).map((c) => c.argv),
      [
        ['set', 'image', 'deployment/web', `app=${PINNED}`, '--namespace=prod'],
        ['rollout', 'status', 'deployment/web', '--timeout=90s', '--namespace=prod'],
      ],
    );
    assert.deepEqual(events, [
      `step kubectl set image deployment/web app=${PINNED} --namespace=prod`,
      'log deployment.apps/web image updated',
      'step kubectl rollout status deployment/web --timeout=90s --namespace=prod',
      'log deployment "x" successfully rolled out',
    ]);
  });

  it('--wait without a timeout waits 5m', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    const r = await deployKubernetes(IMAGE, { deployment: 'web', wait: true }, { env: fake.env(), dryRun: true });
    assert.deepEqual(r.commands[1]?.args, ['rollout', 'status', 'deployment/web', '--timeout=5m']);
  });

  it('--dry-run reads the deployment but never runs set image or rollout status', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    const r = await deployKubernetes(IMAGE, { deployment: 'web', wait: true }, { env: fake.env(), dryRun: true });
    assert.deepEqual(
      (await fake.calls()).map((c) => c.argv[0]),
      ['get'],
    );
    assert.deepEqual(r.commands, [
      { program: 'kubectl', args: ['set', 'image', 'deployment/web', `app=${PINNED}`] },
      { program: 'kubectl', args: ['rollout', 'status', 'deployment/web', '--timeout=5m'] },
    ]);
  });

  it('--dry-run with --container calls kubectl not at all', async () => {
    const fake = await fakeTools();
    await deployKubernetes(IMAGE, { deployment: 'web', container: 'app' }, { env: fake.env(), dryRun: true });
    assert.deepEqual(await fake.calls(), []);
  });

  it('an unknown deployment is bad input (exit 2) naming the flags to check', async () => {
    const fake = await fakeTools();
    await rejectsWith(
      deployKubernetes(IMAGE, { deployment: 'nope' }, { env: fake.env() }),
      2,
      /does not exist; check --deployment, --namespace and --context\n.*deployments.apps "nope" not found/,
    );
  });

  it('a failing set image is a runtime error (exit 1) with the last lines of its stderr; no rollout follows', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    const stderr = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`).join('\n');
    const err = await rejectsWith(
      deployKubernetes(IMAGE, { deployment: 'web', wait: true }, { env: fake.env({ FAKE_FAIL_ON: 'set image', FAKE_FAIL_STDERR: stderr }) }),
      1,
      /^`kubectl set image deployment\/web app=.*` exited with 3:\nline 6\n[^]*line 15$/,
    );
    assert.doesNotMatch(err.message, /line 5\n/);
    assert.deepEqual(
      (await fake.calls()).map((c) => c.argv[0]),
      ['get', 'set'],
    );
  });

  it('a failing rollout status fails the deploy (exit 1)', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    await rejectsWith(
      deployKubernetes(
        IMAGE,
        { deployment: 'web', wait: true },
        { env: fake.env({ FAKE_FAIL_ON: 'rollout', FAKE_FAIL_STDERR: 'error: timed out waiting for the condition\n' }) },
      ),
      1,
      /rollout status .* exited with 3:\nerror: timed out waiting for the condition$/,
    );
  });

  it('kubectl missing: says how to install it', async () => {
    const fake = await fakeTools();
    const err = await rejectsWith(
      deployKubernetes(IMAGE, { deployment: 'web' }, { env: { PATH: `${fake.dir}/empty` } }),
      1,
      /kubectl was not found on PATH: install kubectl \(https:\/\/kubernetes\.io\/docs\/tasks\/tools\/\)/,
    );
    assert.equal(err.code, 'SHALE_TOOL_MISSING');
  });

  it('bad names are exit 2 before any call; odd values pass verbatim, never through a shell', async () => {
    const fake = await fakeTools(deploymentJson('web', ['app']));
    await rejectsWith(deployKubernetes(IMAGE, { deployment: 'Web;rm' }, { env: fake.env() }), 2, /--deployment "Web;rm" is not a Kubernetes name/);
    await rejectsWith(deployKubernetes(IMAGE, { deployment: 'web', container: '--all' }, { env: fake.env() }), 2, /--container "--all" is not a valid name/);
    await rejectsWith(
      deployKubernetes(IMAGE, { deployment: 'web', wait: true, timeout: 'soon' }, { env: fake.env() }),
      2,
      /--timeout "soon" is not a duration/,
    );
    assert.deepEqual(await fake.calls(), []);
    await deployKubernetes(IMAGE, { deployment: 'web', container: 'app', context: 'ctx $(touch x); `y`' }, { env: fake.env() });
    assert.deepEqual((await fake.calls())[0]?.argv.at(-1), '--context=ctx $(touch x); `y`');
  });
});
