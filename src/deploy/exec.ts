import { spawn } from 'node:child_process';
import { InputError, ShaleError } from '../errors.js';
import { formatCommand, type ToolCommand } from './command.js';

/** How to install each tool, for the error when it is not on PATH. */
const INSTALL: Readonly<Record<ToolCommand['program'], string>> = {
  kubectl: 'install kubectl (https://kubernetes.io/docs/tasks/tools/) and point it at the cluster with KUBECONFIG or --context',
  az: 'install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli), run `az login`, and add the extension with `az extension add --name containerapp`',
};

/** Lines of a failed command's stderr that its error shows. */
const TAIL_LINES = 10;

/** Options for running one tool. */
export interface RunOptions {
  /** The child's environment (PATH decides which kubectl/az runs); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Kills the child when aborted (Ctrl-C). */
  signal?: AbortSignal;
  /** Receives the child's stdout as it comes (progress of `rollout status`); it is collected either way. */
  onStdout?: (text: string) => void;
  /**
   * Recognizes failures that are the user's input (an unknown deployment): returns the message
   * for an exit-2 error, or undefined for an ordinary runtime failure.
   */
  badInput?: (stderr: string) => string | undefined;
}

/**
 * Runs a command without a shell and returns its stdout. A missing program is an error saying how
 * to install it; a non-zero exit is an error showing the last lines of its stderr.
 */
export function runTool(cmd: ToolCommand, options: RunOptions = {}): Promise<string> {
  const shown = formatCommand(cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.program, cmd.args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      options.onStdout?.(b.toString('utf8'));
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new ShaleError('SHALE_TOOL_MISSING', `${cmd.program} was not found on PATH: ${INSTALL[cmd.program]}`, { cause: e }));
      } else {
        reject(new ShaleError('SHALE_TOOL_FAILED', `running \`${shown}\`: ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) {
        resolve(stdout);
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8');
      const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-TAIL_LINES).join('\n');
      const how = signal === null ? `exited with ${String(code)}` : `was killed by ${signal}`;
      const bad = options.badInput?.(stderr);
      reject(
        bad !== undefined
          ? new InputError('SHALE_DEPLOY_TARGET_UNKNOWN', `\`${shown}\` ${how}: ${bad}${tail ? `\n${tail}` : ''}`)
          : new ShaleError('SHALE_TOOL_FAILED', `\`${shown}\` ${how}${tail ? `:\n${tail}` : ''}`),
      );
    });
  });
}
