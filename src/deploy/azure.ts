import { noEvents } from '../events.js';
import { formatCommand, type ToolCommand } from './command.js';
import { runTool } from './exec.js';
import type { DeployOptions, DeployResult } from './kubernetes.js';
import { checkPlain } from './names.js';
import { pinnedString, type PinnedImage } from './resolve.js';

/** Which Azure Container App to update. */
export interface ContainerAppTarget {
  name: string;
  resourceGroup: string;
  /** The container to update; without it `az` updates the app's (first) container. */
  container?: string;
}

/**
 * Points an Azure Container App at an image by digest:
 * `az containerapp update --name APP --resource-group RG --image repo@sha256:…` (+ `--container-name`).
 * A new revision starts; `az` returns when the update is accepted.
 */
export async function deployContainerApp(image: PinnedImage, target: ContainerAppTarget, options: DeployOptions = {}): Promise<DeployResult> {
  const commands = [containerAppCommand(pinnedString(image), target)];
  if (options.dryRun !== true) {
    const events = options.events ?? noEvents;
    for (const cmd of commands) {
      events({ type: 'step', step: 'running', detail: formatCommand(cmd) });
      // az prints the whole updated app as JSON; it is not worth showing.
      await runTool(cmd, { ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}), badInput: azBadInput });
    }
  }
  return { image: pinnedString(image), ...(target.container !== undefined ? { container: target.container } : {}), commands };
}

/** The `az containerapp update` command for an image string. */
export function containerAppCommand(image: string, t: ContainerAppTarget): ToolCommand {
  checkPlain('--name', t.name);
  checkPlain('--resource-group', t.resourceGroup);
  if (t.container !== undefined) checkPlain('--container', t.container);
  return {
    program: 'az',
    args: [
      'containerapp',
      'update',
      '--name',
      t.name,
      '--resource-group',
      t.resourceGroup,
      '--image',
      image,
      ...(t.container !== undefined ? ['--container-name', t.container] : []),
    ],
  };
}

/** az's answers that mean the app or resource group named does not exist. */
function azBadInput(stderr: string): string | undefined {
  if (/ResourceGroupNotFound/.test(stderr))
    return 'the resource group does not exist (or is not in the current subscription); check --resource-group and `az account show`';
  if (/ResourceNotFound|was not found/.test(stderr)) return 'the container app does not exist in that resource group; check --name and --resource-group';
  return undefined;
}
