import { build } from '../build/build.js';
import { loadBuildSpec } from '../config/load.js';
import { parseMirrors } from '../ref/mirrors.js';
import type { BuildOptions } from '../build/options.js';
import type { BuildResult } from '../build/result.js';
import { InputError } from '../errors.js';
import { defaultCacheDir, parsePlatforms } from './main.js';
import { terminalEvents } from './progress.js';

function sourceDateEpoch(): number {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new InputError('SHALE_BAD_EPOCH', `SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds since 1970; unset it or set it like SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`);
  return Number(raw);
}

/** `shale build`: parse flags, run the build, print the result. */
export async function buildCommand(dir: string, flags: Record<string, unknown>, debug: boolean, signal?: AbortSignal): Promise<void> {
  const spec = await loadBuildSpec(dir);
  const opts: BuildOptions = {
    cacheDir: typeof flags.cacheDir === 'string' ? flags.cacheDir : defaultCacheDir(),
    noCache: flags.cache === false,
    cacheFrom: (flags.cacheFrom as string[] | undefined) ?? [],
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    epoch: sourceDateEpoch(),
    mirrors: parseMirrors(process.env.SHALE_REGISTRY_MIRRORS ?? ''),
  };
  if (Array.isArray(flags.registryCa)) opts.registryCa = flags.registryCa as string[];
  if (signal) opts.signal = signal;
  if (typeof flags.platform === 'string') opts.platforms = parsePlatforms(flags.platform);
  if (typeof flags.push === 'string') opts.push = flags.push;
  if (typeof flags.oci === 'string') opts.oci = flags.oci;
  if (typeof flags.tar === 'string') opts.tar = flags.tar;
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
