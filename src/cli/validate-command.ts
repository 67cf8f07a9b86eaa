import { loadBuildSpec } from '../config/load.js';
import { InputError } from '../errors.js';
import { parseMirrors } from '../ref/mirrors.js';
import type { ValidateReport } from '../validate/result.js';
import { validate, type ValidateOptions } from '../validate/validate.js';
import { defaultCacheDir, parsePlatforms } from './main.js';
import { terminalEvents } from './progress.js';

function sourceDateEpoch(): number {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new InputError('SHALE_BAD_EPOCH', `SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds since 1970; unset it or set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`);
  return Number(raw);
}

/** `shale validate`: build into a temp layout, run the checks, print `PASS|FAIL name: reason`; exit 1 on a FAIL. */
export async function validateCommand(dir: string, flags: Record<string, unknown>, debug: boolean): Promise<void> {
  const spec = await loadBuildSpec(dir);
  const opts: ValidateOptions = {
    cacheDir: typeof flags.cacheDir === 'string' ? flags.cacheDir : defaultCacheDir(),
    cacheFrom: [],
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    epoch: sourceDateEpoch(),
    mirrors: parseMirrors(process.env.SHALE_REGISTRY_MIRRORS ?? ''),
  };
  if (typeof flags.platform === 'string') opts.platforms = parsePlatforms(flags.platform);
  const events = terminalEvents({ tty: process.stderr.isTTY === true && flags.json !== true, debug });
  let report: ValidateReport;
  try {
    report = await validate(spec, opts, events);
  } finally {
    events.stop();
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
  else for (const c of report.checks) process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.reason}\n`);
  if (!report.ok) process.exitCode = 1;
}
