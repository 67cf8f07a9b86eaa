// Running one measured command: wall time (from here, process start to exit), peak RSS (from
// GNU time's -v report, apt package `time`) and its output.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, run } from '../test/e2e/support/exec.js';

export const GNU_TIME = '/usr/bin/time';

export interface Timed {
  seconds: number;
  /** Peak resident set size in MB (the largest of the process and its waited-for children). */
  rssMb: number;
  stdout: string;
  stderr: string;
}

/** Runs `tool args` under `/usr/bin/time -v`; throws CommandError (with its stderr) on failure. */
export async function timed(
  tool: string,
  args: readonly string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<Timed> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const started = process.hrtime.bigint();
    const runOpts: Parameters<typeof run>[2] = { allowFailure: true, timeoutMs: opts.timeoutMs ?? 10 * 60_000 };
    if (opts.env) runOpts.env = opts.env;
    if (opts.cwd) runOpts.cwd = opts.cwd;
    const r = await run(GNU_TIME, ['-v', '-o', report, tool, ...args], runOpts);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.exitCode !== 0) throw new CommandError([tool, ...args], r.exitCode, null, r.stdout, r.stderr);
    const text = await readFile(report, 'utf8').catch(() => '');
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? NaN);
    return { seconds, rssMb: kb / 1024, stdout: r.stdout, stderr: r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
