import { loadBuildSpec } from '../config/load.js';
import type { ValidateReport } from '../validate/result.js';
import { validate, type ValidateOptions } from '../validate/validate.js';
import { buildOptionsFromFlags } from './build-flags.js';
import { terminalEvents } from './progress.js';

/** `shale validate`: build into a temp layout, run the checks, print `PASS|FAIL name: reason`; exit 1 on a FAIL. */
export async function validateCommand(dir: string, flags: Record<string, unknown>, debug: boolean): Promise<void> {
  const spec = await loadBuildSpec(dir);
  const opts: ValidateOptions = buildOptionsFromFlags(flags);
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
