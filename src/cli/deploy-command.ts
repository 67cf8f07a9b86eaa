import type { Command, Option } from 'commander';
import { InputError } from '../errors.js';
import type { Events } from '../events.js';
import { deployContainerApp } from '../deploy/azure.js';
import { formatCommand } from '../deploy/command.js';
import { DEFAULT_ROLLOUT_TIMEOUT, deployKubernetes, type DeployOptions, type DeployResult, type KubernetesTarget } from '../deploy/kubernetes.js';
import { imageFromBuildJson, resolveImage, type PinnedImage } from '../deploy/resolve.js';
import { RegistryClient } from '../registry/client.js';

type Flags = Record<string, unknown>;

/**
 * Registers `shale deploy kubernetes` and `shale deploy azure-containerapp` under `program`.
 * `registryOptions` gives fresh --insecure-registry / --registry-ca options for each subcommand.
 */
export function registerDeployCommand(program: Command, registryOptions: () => Option[], signal: AbortSignal): void {
  const deploy = program.command('deploy').description('update a running service to an image by digest (Kubernetes, Azure Container Apps)');
  const common = (c: Command): Command => {
    c.option('--image <ref>', 'the image; resolved to its digest with the registry')
      .option('--from-json <file>', 'the --json output of `shale build --push`: deploy its reference at its digest, offline')
      .option('--dry-run', 'print the command(s) that would change the service, and change nothing');
    for (const o of registryOptions()) c.addOption(o);
    return c;
  };

  common(
    deploy
      .command('kubernetes')
      .description('kubectl set image deployment/NAME CONTAINER=REPO@sha256:... (and rollout status with --wait)')
      .requiredOption('--deployment <name>', 'the deployment to update')
      .option('--container <name>', "the container to update (default: the deployment's only one)")
      .option('--namespace <ns>', "the namespace (default: the context's)")
      .option('--context <ctx>', 'the kubeconfig context (default: the current one)')
      .option('--wait', 'wait for the rollout to finish (kubectl rollout status)')
      .option('--timeout <duration>', `how long --wait waits (default ${DEFAULT_ROLLOUT_TIMEOUT})`),
  ).action(async (flags: Flags) => {
    const target: KubernetesTarget = { deployment: str(flags.deployment) ?? '' };
    for (const key of ['container', 'namespace', 'context', 'timeout'] as const) {
      const v = str(flags[key]);
      if (v !== undefined) target[key] = v;
    }
    if (flags.wait === true) target.wait = true;
    else if (target.timeout !== undefined) throw new InputError('SHALE_BAD_ARGUMENT', '--timeout only applies with --wait');
    await deployWith(flags, signal, (image, options) => deployKubernetes(image, target, options));
  });

  common(
    deploy
      .command('azure-containerapp')
      .description('az containerapp update --name APP --resource-group RG --image REPO@sha256:...')
      .requiredOption('--name <app>', 'the container app')
      .requiredOption('--resource-group <rg>', 'its resource group')
      .option('--container <name>', 'the container to update (az --container-name)'),
  ).action(async (flags: Flags) => {
    const container = str(flags.container);
    const target = { name: str(flags.name) ?? '', resourceGroup: str(flags.resourceGroup) ?? '', ...(container !== undefined ? { container } : {}) };
    await deployWith(flags, signal, (image, options) => deployContainerApp(image, target, options));
  });
}

/** Pins the image (--image or --from-json), runs the deploy, and prints what it ran or would run. */
async function deployWith(flags: Flags, signal: AbortSignal, deploy: (image: PinnedImage, options: DeployOptions) => Promise<DeployResult>): Promise<void> {
  const image = await pinnedImage(flags);
  const dryRun = flags.dryRun === true;
  const result = await deploy(image, { dryRun, signal, events: stderrEvents });
  if (dryRun) {
    for (const cmd of result.commands) process.stdout.write(`${formatCommand(cmd)}\n`);
    return;
  }
  process.stderr.write(`deployed ${result.image}${result.container !== undefined ? ` (container ${result.container})` : ''}\n`);
  process.stdout.write(`${result.image}\n`);
}

async function pinnedImage(flags: Flags): Promise<PinnedImage> {
  const ref = str(flags.image);
  const file = str(flags.fromJson);
  if ((ref === undefined) === (file === undefined)) {
    throw new InputError(
      'SHALE_BAD_ARGUMENT',
      'give the image with exactly one of --image REF (resolved with the registry) or --from-json FILE (the --json output of `shale build --push`)',
    );
  }
  if (file !== undefined) return imageFromBuildJson(file);
  const client = new RegistryClient({
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    caFiles: (flags.registryCa as string[] | undefined) ?? [],
  });
  try {
    return await resolveImage(ref ?? '', client);
  } finally {
    await client.close();
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Shows each command before it runs, and what it prints, on stderr. */
const stderrEvents: Events = (e) => {
  if (e.type === 'step') process.stderr.write(`+ ${e.detail ?? e.step}\n`);
  else if (e.type === 'log' && e.message !== '') process.stderr.write(`${e.message}\n`);
};
