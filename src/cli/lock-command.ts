import { loadBuildSpec } from '../config/load.js';
import { lockProject, type LockOptions } from '../pipeline/lock-project.js';
import { buildOptionsFromFlags } from './build-flags.js';
import { terminalEvents } from './progress.js';

/** `shale lock`: resolve for every platform, write (or --check) pylock.toml, say what happened. */
export async function lockCommand(dir: string, flags: Record<string, unknown>, debug: boolean, signal?: AbortSignal): Promise<void> {
  const spec = await loadBuildSpec(dir);
  const b = buildOptionsFromFlags(flags);
  const opts: LockOptions = { cacheDir: b.cacheDir, insecureRegistries: b.insecureRegistries, mirrors: b.mirrors };
  if (b.registryCa) opts.registryCa = b.registryCa;
  if (b.platforms) opts.platforms = b.platforms;
  if (signal) opts.signal = signal;
  if (typeof flags.output === 'string') opts.output = flags.output;
  if (flags.upgrade === true) opts.upgrade = true;
  if (Array.isArray(flags.upgradePackage)) opts.upgradePackages = flags.upgradePackage as string[];
  if (flags.check === true) opts.check = true;
  const events = terminalEvents({ tty: process.stderr.isTTY === true && flags.json !== true, debug });
  let result;
  try {
    result = await lockProject(spec, opts, events);
  } finally {
    events.stop();
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  const counts = Object.entries(result.packages)
    .map(([p, n]) => `${n} for ${p}`)
    .join(', ');
  if (opts.check) {
    if (result.changed) {
      process.stderr.write(
        `${result.file} is stale: locking ${result.input} now gives other pins (${result.differences.join('; ')}); run \`shale lock\` and commit the result\n`,
      );
      process.exitCode = 1;
    } else if (flags.json !== true) process.stderr.write(`${result.file} is up to date with ${result.input} (${counts})\n`);
    return;
  }
  if (flags.json !== true) process.stderr.write(`${result.changed ? 'wrote' : 'unchanged:'} ${result.file} from ${result.input} (${counts})\n`);
}
