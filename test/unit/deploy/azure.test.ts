// `deployContainerApp` against a fake az: the exact argv, dry runs and failures.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShaleError } from '../../../src/errors.js';
import { deployContainerApp } from '../../../src/deploy/azure.js';
import type { PinnedImage } from '../../../src/deploy/resolve.js';
import type { Digest } from '../../../src/oci/types.js';
import { fakeTools } from './fake-tools.js';

const DIGEST = `sha256:${'cd'.repeat(32)}` as Digest;
const IMAGE: PinnedImage = { registry: 'myacr.azurecr.io', repository: 'demo/hello', digest: DIGEST };
const PINNED = `myacr.azurecr.io/demo/hello@${DIGEST}`;

const failure = async (p: Promise<unknown>): Promise<ShaleError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShaleError, String(err));
  return err;
};

describe('deploy azure-containerapp', () => {
  it('runs az containerapp update with the image by digest', async () => {
    const fake = await fakeTools();
    const r = await deployContainerApp(IMAGE, { name: 'hello', resourceGroup: 'rg-prod' }, { env: fake.env() });
    assert.deepEqual(await fake.calls(), [
      { tool: 'az', argv: ['containerapp', 'update', '--name', 'hello', '--resource-group', 'rg-prod', '--image', PINNED] },
    ]);
    assert.equal(r.image, PINNED);
    assert.equal(r.container, undefined);
  });

  it('--container adds --container-name', async () => {
    const fake = await fakeTools();
    await deployContainerApp(IMAGE, { name: 'hello', resourceGroup: 'rg', container: 'api' }, { env: fake.env() });
    assert.deepEqual((await fake.calls())[0]?.argv, [
      'containerapp',
      'update',
      '--name',
      'hello',
      '--resource-group',
      'rg',
      '--image',
      PINNED,
      '--container-name',
      'api',
    ]);
  });

  it('--dry-run returns the command and runs nothing', async () => {
    const fake = await fakeTools();
    const r = await deployContainerApp(IMAGE, { name: 'hello', resourceGroup: 'rg' }, { env: fake.env(), dryRun: true });
    assert.deepEqual(await fake.calls(), []);
    assert.deepEqual(r.commands, [{ program: 'az', args: ['containerapp', 'update', '--name', 'hello', '--resource-group', 'rg', '--image', PINNED] }]);
  });

  it('a failure is exit 1 with its stderr; a missing app is exit 2', async () => {
    const fake = await fakeTools();
    const e1 = await failure(
      deployContainerApp(
        IMAGE,
        { name: 'hello', resourceGroup: 'rg' },
        { env: fake.env({ FAKE_FAIL_ON: 'update', FAKE_FAIL_STDERR: "ERROR: Please run 'az login' to setup account.\n" }) },
      ),
    );
    assert.equal(e1.exitCode, 1);
    assert.match(e1.message, /`az containerapp update .*` exited with 3:\nERROR: Please run 'az login' to setup account\.$/);
    const e2 = await failure(
      deployContainerApp(
        IMAGE,
        { name: 'nope', resourceGroup: 'rg' },
        {
          env: fake.env({
            FAKE_FAIL_ON: 'update',
            FAKE_FAIL_STDERR: "ERROR: (ResourceNotFound) The Resource 'Microsoft.App/containerApps/nope' under resource group 'rg' was not found.\n",
          }),
        },
      ),
    );
    assert.equal(e2.exitCode, 2);
    assert.match(e2.message, /the container app does not exist in that resource group; check --name and --resource-group/);
  });

  it('az missing: says how to install it; a value starting with "-" is exit 2', async () => {
    const fake = await fakeTools();
    const e = await failure(deployContainerApp(IMAGE, { name: 'hello', resourceGroup: 'rg' }, { env: { PATH: `${fake.dir}/empty` } }));
    assert.equal(e.code, 'SHALE_TOOL_MISSING');
    assert.match(e.message, /az was not found on PATH: install the Azure CLI .*az extension add --name containerapp/);
    const bad = await failure(deployContainerApp(IMAGE, { name: 'hello', resourceGroup: '--help' }, { env: fake.env() }));
    assert.equal(bad.exitCode, 2);
    assert.deepEqual(await fake.calls(), []);
  });
});
