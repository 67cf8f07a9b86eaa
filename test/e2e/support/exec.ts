// Running external tools (registry, podman, skopeo, ...) from e2e tests, with errors that say
// which tool failed, how, and which Debian package provides it when it is missing.
import { spawn, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Debian package that provides each external tool the e2e tests use: scripts/test-tools.json,
 * the one list that scripts/install-test-tools.mjs (run by `npm test` and .ci/run) installs.
 */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = (
  JSON.parse(readFileSync(new URL('../../../../scripts/test-tools.json', import.meta.url), 'utf8')) as { tools: Record<string, string> }
).tools;

/** A required external program is not installed. */
export class ToolMissingError extends Error {
  readonly code = 'SHALE_TEST_TOOL_MISSING';
  constructor(readonly tool: string) {
    const pkg = TOOL_PACKAGES[tool] ?? tool;
    super(`"${tool}" was not found on PATH; install it with \`apt-get install -y ${pkg}\` (scripts/install-test-tools.mjs installs every tool the tests need)`);
    this.name = 'ToolMissingError';
  }
}

/** An external program exited with a non-zero status (or was killed). */
export class CommandError extends Error {
  readonly code = 'SHALE_TEST_COMMAND_FAILED';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const how = signal === null ? `exited with ${String(exitCode)}` : `was killed by ${signal}`;
    const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n');
    super(`\`${command.join(' ')}\` ${how}${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Absolute path of `tool` on PATH, or undefined. */
export function findTool(tool: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Throws ToolMissingError (naming the Debian package) unless every tool is on PATH. */
export function requireTools(...tools: string[]): void {
  for (const t of tools) {
    if (findTool(t) === undefined) throw new ToolMissingError(t);
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to the process's stdin, which is otherwise closed. */
  input?: string | Buffer;
  /** Kill the process (SIGKILL) after this many milliseconds. Default: 10 minutes. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the exit status is non-zero. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** Runs a program to completion and captures its output; throws CommandError on failure. */
export function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [tool, ...args];
  const spawnOpts: SpawnOptions = {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  };
  if (opts.cwd !== undefined) spawnOpts.cwd = opts.cwd;
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new ToolMissingError(tool) : e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if ((exitCode === 0 && signal === null) || opts.allowFailure === true) {
        resolve({ stdout, stderr, exitCode });
      } else {
        reject(new CommandError(command, exitCode, signal, stdout, stderr));
      }
    });
    child.stdin?.on('error', () => {
      // the program may exit without reading its input; its exit status tells the story
    });
    child.stdin?.end(opts.input);
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
