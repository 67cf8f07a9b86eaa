import { InputError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { formatCommand, type ToolCommand } from './command.js';
import { runTool } from './exec.js';
import { checkDuration, checkLabel, checkObjectName, checkPlain } from './names.js';
import { pinnedString, type PinnedImage } from './resolve.js';

/** Which Kubernetes deployment to update, and how. */
export interface KubernetesTarget {
  deployment: string;
  /** The container to update; default the deployment's only container. */
  container?: string;
  namespace?: string;
  /** A kubeconfig context; default kubectl's current one. */
  context?: string;
  /** Also wait for the rollout (`kubectl rollout status`) up to `timeout`. */
  wait?: boolean;
  /** A Go duration for the wait, e.g. `5m` (the default). */
  timeout?: string;
}

/** How a deploy runs: for real, or as a dry run that only says what it would run. */
export interface DeployOptions {
  /** Work out the commands (reading is allowed: `kubectl get`) but change nothing. */
  dryRun?: boolean;
  /** The environment the tools run in (PATH, KUBECONFIG, AZURE_*); default process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** `step` before each changing command; `log` with its output. */
  events?: Events;
}

/** What a deploy did, or would do in a dry run. */
export interface DeployResult {
  /** `registry/repository@sha256:...`. */
  image: string;
  /** The container updated (undefined when the tool picks it, as `az` does without --container). */
  container?: string;
  /** The commands that change the service, in order: run, or for a dry run to be run. */
  commands: ToolCommand[];
}

export const DEFAULT_ROLLOUT_TIMEOUT = '5m';

/**
 * Points a deployment at an image by digest: `kubectl set image deployment/NAME C=repo@sha256:…`,
 * then with `wait` `kubectl rollout status`. The container, unless named, is the deployment's only
 * one, read with `kubectl get` (also in a dry run: reading changes nothing).
 */
export async function deployKubernetes(image: PinnedImage, target: KubernetesTarget, options: DeployOptions = {}): Promise<DeployResult> {
  const t = checkTarget(target);
  const run = { ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}), badInput: kubectlBadInput };
  const container = t.container ?? onlyContainer(t.deployment, await runTool(getDeploymentCommand(t), run));
  const commands = kubernetesCommands(pinnedString(image), container, t);
  if (options.dryRun !== true) {
    const events = options.events ?? noEvents;
    for (const cmd of commands) {
      events({ type: 'step', step: 'running', detail: formatCommand(cmd) });
      await runTool(cmd, { ...run, onStdout: (text) => events({ type: 'log', level: 'info', message: text.trimEnd() }) });
    }
  }
  return { image: pinnedString(image), container, commands };
}

/** `kubectl get deployment NAME -o json`, with the namespace and context flags. */
export function getDeploymentCommand(t: KubernetesTarget): ToolCommand {
  return { program: 'kubectl', args: ['get', 'deployment', t.deployment, '-o', 'json', ...scopeArgs(t)] };
}

/** The commands that update the deployment: set image, then (with `wait`) rollout status. */
export function kubernetesCommands(image: string, container: string, t: KubernetesTarget): ToolCommand[] {
  const commands: ToolCommand[] = [{ program: 'kubectl', args: ['set', 'image', `deployment/${t.deployment}`, `${container}=${image}`, ...scopeArgs(t)] }];
  if (t.wait === true) {
    commands.push({
      program: 'kubectl',
      args: ['rollout', 'status', `deployment/${t.deployment}`, `--timeout=${t.timeout ?? DEFAULT_ROLLOUT_TIMEOUT}`, ...scopeArgs(t)],
    });
  }
  return commands;
}

/**
 * The container to update when none was named: the deployment's only one. Several is an error
 * listing them, since picking one would be a guess.
 */
export function onlyContainer(deployment: string, json: string): string {
  const names = containerNames(deployment, json);
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new InputError('SHALE_DEPLOY_NO_CONTAINER', `deployment ${deployment} has no containers in spec.template.spec.containers`);
  throw new InputError(
    'SHALE_DEPLOY_CONTAINER_AMBIGUOUS',
    `deployment ${deployment} has ${names.length} containers (${names.join(', ')}); say which to update with --container NAME`,
  );
}

function containerNames(deployment: string, json: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new InputError(
      'SHALE_DEPLOY_BAD_ANSWER',
      `kubectl get deployment ${deployment} -o json did not print JSON: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const containers = dig(parsed, ['spec', 'template', 'spec', 'containers']);
  if (!Array.isArray(containers)) return [];
  return containers.map((c: unknown) => dig(c, ['name'])).filter((n): n is string => typeof n === 'string');
}

function dig(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

// The `=` forms keep a value that starts with "-" from being read as a flag.
function scopeArgs(t: KubernetesTarget): string[] {
  return [...(t.namespace !== undefined ? [`--namespace=${t.namespace}`] : []), ...(t.context !== undefined ? [`--context=${t.context}`] : [])];
}

function checkTarget(t: KubernetesTarget): KubernetesTarget {
  checkObjectName('--deployment', t.deployment);
  if (t.container !== undefined) checkLabel('--container', t.container);
  if (t.namespace !== undefined) checkLabel('--namespace', t.namespace);
  if (t.context !== undefined) checkPlain('--context', t.context);
  if (t.timeout !== undefined) checkDuration('--timeout', t.timeout);
  return t;
}

/** kubectl's answers that mean the user named something that is not there. */
function kubectlBadInput(stderr: string): string | undefined {
  if (/\(NotFound\)/.test(stderr)) return 'the deployment (or namespace) does not exist; check --deployment, --namespace and --context';
  const m = /unable to find container named "?([^"\s]+)"?/.exec(stderr);
  if (m) return `the deployment has no container named ${m[1] ?? ''}; leave out --container to use its only one, or name one it has`;
  return undefined;
}
