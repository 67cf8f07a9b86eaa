import { build } from '../pipeline/build.js';
import { loadBuildSpec } from '../config/load.js';
import type { BuildResult } from '../pipeline/result.js';
import { buildOptionsFromFlags, publishersFromFlags } from './build-flags.js';
import { terminalEvents } from './progress.js';

/** `shale build`: parse flags, run the build, print the result. */
export async function buildCommand(dir: string, flags: Record<string, unknown>, debug: boolean, signal?: AbortSignal): Promise<void> {
  const spec = await loadBuildSpec(dir);
  const opts = buildOptionsFromFlags(flags);
  if (signal) opts.signal = signal;
  opts.publishers = publishersFromFlags(flags, spec);
  const events = terminalEvents({ tty: process.stderr.isTTY === true && flags.json !== true, debug });
  let result: BuildResult;
  try {
    result = await build(spec, opts, events);
  } finally {
    events.stop();
  }
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (flags.explain === true) printExplain(result);
  process.stdout.write(`${result.digest}\n`);
  for (const o of result.outputs) process.stderr.write(`wrote ${o}\n`);
}

function printExplain(r: BuildResult): void {
  for (const l of r.layers) {
    if (l.source === 'base') continue;
    process.stderr.write(`${l.name}${r.layers.some((x) => x.platform !== l.platform) ? ` (${l.platform})` : ''}: ${l.reason}\n`);
  }
}
