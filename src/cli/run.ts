import { ShaleError } from '../errors.js';

/** The CLI's single error handler: prints one readable paragraph and returns the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof ShaleError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (debug) printCauses(err);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${msg}\n`);
  if (debug) printCauses(err);
  else process.stderr.write('(this looks like a bug in shale; rerun with --debug for details and report it)\n');
  return 1;
}

function printCauses(err: unknown): void {
  let e: unknown = err;
  let depth = 0;
  while (e && depth < 8) {
    if (e instanceof Error) process.stderr.write(`${depth ? 'caused by: ' : ''}${e.stack ?? e.message}\n`);
    else process.stderr.write(`caused by: ${String(e)}\n`);
    e = e instanceof Error ? e.cause : undefined;
    depth++;
  }
}
