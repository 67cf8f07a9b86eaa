import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cache.js';
import { run, type RunResult } from './exec.js';

/** The built CLI as a user runs it: `bin/shale`. */
export const shaleBin = (): string => join(repoRoot(), 'bin', 'shale');

/** Runs `bin/shale ARGS` to completion without throwing on a non-zero exit. */
export function shale(args: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<RunResult> {
  const opts: { env: Record<string, string | undefined>; allowFailure: true; timeoutMs: number; cwd?: string } = {
    env,
    allowFailure: true,
    timeoutMs: 9 * 60_000,
  };
  if (cwd !== undefined) opts.cwd = cwd;
  return run(process.execPath, [shaleBin(), ...args], opts);
}

/** Runs shale and parses its --json output; throws with stderr when it fails. */
export async function shaleJson(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<BuildJson> {
  const r = await shale([...args, '--json'], env);
  if (r.exitCode !== 0) throw new Error(`shale ${args.join(' ')} exited ${r.exitCode}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as BuildJson;
}

/** The `--json` output of `shale build` (README). */
export interface BuildJson {
  digest: string;
  layers: { name: string; digest: string; size: number; source: 'built' | 'cache' | 'registry' | 'base'; platform: string }[];
  pushed: { bytes: number; blobs: number };
  seconds: number;
}

/** A fresh, empty cache directory (a "fresh runner"). */
export const freshCache = (): Promise<string> => mkdtemp(join(tmpdir(), 'shale-cache-'));
