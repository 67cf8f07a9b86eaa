import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { parsePlatform, type Platform } from '../oci/types.js';
import { reportError } from './run.js';
import { registerDeployCommand } from './deploy-command.js';

/** Parses `--platform linux/amd64,linux/arm64`. */
export function parsePlatforms(value: string): Platform[] {
  return value.split(',').map((s) => {
    const p = parsePlatform(s);
    if (!p) throw new InputError('SHALE_BAD_PLATFORM', `--platform: "${s}" is not a platform; write it like linux/amd64 or linux/amd64,linux/arm64`);
    return p;
  });
}

/** The default cache directory: $SHALE_CACHE_DIR, else ~/.cache/shale (or $XDG_CACHE_HOME/shale). */
export const defaultCacheDir = (): string => process.env.SHALE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shale');

/** An option that may be given several times; its values collect into an array. */
const repeatable = (flags: string, description: string): Option => new Option(flags, description).argParser((v: string, prev: string[] = []) => [...prev, v]);
const insecureRegistry = (): Option => repeatable('--insecure-registry <host>', 'allow plain HTTP / unverified TLS for HOST (repeatable)');
const registryCa = (): Option => repeatable('--registry-ca <file>', 'trust this CA certificate (PEM) for registries, besides the system ones (repeatable)');

/** Aborted on Ctrl-C: registry work stops, abandoned uploads are DELETEd, the CLI exits 130. */
const interrupt = new AbortController();

/** shale's version: set in the bundle at build time, else read from package.json beside dist/. */
function version(): string {
  const bundled = process.env.SHALE_BUNDLED_VERSION;
  if (bundled) return bundled;
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function program(): Command {
  const p = new Command('shale')
    .description('Daemonless, layered, reproducible container images for Python services')
    .version(version(), '-V, --version', 'print the version')
    .option('--debug', 'print error causes and stack traces')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  p.command('build')
    .description('build the image for the app in DIR (default: .)')
    .argument('[dir]', 'the app directory', '.')
    .option('--platform <list>', 'override [tool.shale].platforms, e.g. linux/amd64,linux/arm64')
    .option('--push <ref>', 'push to a registry (host[:port]/repo[:tag])')
    .option('--oci <dir>', 'write an OCI image layout (default: DIR/.shale/image)')
    .option('--tar <file>', 'write a tarball that docker load / podman load accept')
    .option('--cache-dir <dir>', 'local cache (default: $SHALE_CACHE_DIR, else ~/.cache/shale)')
    .option('--no-cache', 'ignore local and registry-side caches')
    .addOption(repeatable('--cache-from <ref>', 'also reuse layers of this image by their inputs (repeatable)'))
    .option('--registry-cache <ref>', 'the layer cache to read and update ("off": none; default: the push repository\'s :shale-cache tag)')
    .option('--retry-budget <seconds>', 'how long each registry operation retries temporary failures (default $SHALE_RETRY_BUDGET, else 60)')
    .option('--explain', 'say, per layer, whether it was reused and why it was rebuilt')
    .option('--json', 'print one JSON object on stdout')
    .addOption(insecureRegistry())
    .addOption(registryCa())
    .action(async (dir: string, opts: Record<string, unknown>) => {
      await (await import('./build-command.js')).buildCommand(dir, opts, p.opts().debug === true, interrupt.signal);
    });

  p.command('history')
    .description('layers of an image: name, digest, size, what made it')
    .argument('<image>', 'a registry reference, an OCI layout directory or a tarball')
    .option('--json', 'print JSON')
    .addOption(insecureRegistry())
    .addOption(registryCa())
    .action(async (ref: string, opts: Record<string, unknown>) => {
      await (await import('./history-command.js')).historyCommand(ref, opts);
    });

  p.command('diff')
    .description('which layers two images share, and the bytes a pull of B after A moves')
    .argument('<a>', 'the image already there: a registry reference, an OCI layout directory or a tarball')
    .argument('<b>', 'the image pulled next')
    .option('--json', 'print JSON')
    .addOption(insecureRegistry())
    .addOption(registryCa())
    .action(async (a: string, b: string, opts: Record<string, unknown>) => {
      await (await import('./diff-command.js')).diffCommand(a, b, opts);
    });

  p.command('init')
    .description('write a starter [tool.shale] section from what it detects, the Dockerfile first')
    .argument('[dir]', 'the app directory', '.')
    .option('-f, --file <dockerfile>', 'the Dockerfile to read (default: DIR/Dockerfile or DIR/Containerfile)')
    .action(async (dir: string, opts: Record<string, unknown>) => {
      await (await import('./init-command.js')).initCommand(dir, typeof opts.file === 'string' ? opts.file : undefined);
    });

  p.command('lock')
    .description('resolve the requirements for every platform and write DIR/pylock.toml (PEP 751)')
    .argument('[dir]', 'the app directory', '.')
    .option('--output <file>', 'write the lock here (default: DIR/pylock.toml)')
    .option('--upgrade', 'resolve every package afresh, ignoring the existing pins')
    .addOption(repeatable('--upgrade-package <name>', 'resolve this package afresh, keeping the other pins (repeatable)'))
    .option('--check', 'write nothing; exit 1 when the lock is not what locking now would write')
    .option('--platform <list>', 'override [tool.shale].platforms, e.g. linux/amd64,linux/arm64')
    .option('--cache-dir <dir>', 'local cache (default: $SHALE_CACHE_DIR, else ~/.cache/shale)')
    .option('--json', 'print one JSON object on stdout')
    .addOption(insecureRegistry())
    .addOption(registryCa())
    .action(async (dir: string, opts: Record<string, unknown>) => {
      await (await import('./lock-command.js')).lockCommand(dir, opts, p.opts().debug === true, interrupt.signal);
    });

  p.command('validate')
    .description(
      'build into a temp layout and check it: native files, layer conflicts, excluded files, entrypoint, app script or module, Python site, requirements, user, reproducibility',
    )
    .argument('[dir]', 'the app directory', '.')
    .option('--platform <list>', 'override [tool.shale].platforms, e.g. linux/amd64,linux/arm64')
    .option('--cache-dir <dir>', 'local cache (default: $SHALE_CACHE_DIR, else ~/.cache/shale)')
    .option('--json', 'print the checks as one JSON object')
    .addOption(insecureRegistry())
    .addOption(registryCa())
    .action(async (dir: string, opts: Record<string, unknown>) => {
      await (await import('./validate-command.js')).validateCommand(dir, opts, p.opts().debug === true);
    });

  const cache = p.command('cache').description('what the local cache holds, and pruning it');
  cache
    .command('info')
    .description('items, sizes and last use of the cache, by kind (layers, wheels, built wheels)')
    .option('--cache-dir <dir>', 'local cache (default: $SHALE_CACHE_DIR, else ~/.cache/shale)')
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>) => {
      await (await import('./cache-command.js')).cacheInfoCommand((opts.cacheDir as string | undefined) ?? defaultCacheDir(), opts);
    });
  cache
    .command('prune')
    .description('remove temporary files of dead builds, what no build used for a while (default 30d), then the least recently used down to --max-size')
    .option('--cache-dir <dir>', 'local cache (default: $SHALE_CACHE_DIR, else ~/.cache/shale)')
    .option('--unused-for <age>', 'remove what no build used for this long, e.g. 30d, 12h (default 30d unless --max-size is given)')
    .option('--max-size <size>', 'then remove the least recently used until the cache fits, e.g. 5GB')
    .option('--dry-run', 'say what would be removed; remove nothing')
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>) => {
      await (await import('./cache-command.js')).cachePruneCommand((opts.cacheDir as string | undefined) ?? defaultCacheDir(), opts);
    });

  registerDeployCommand(p, () => [insecureRegistry(), registryCa()], interrupt.signal);
  return p;
}

/** Runs the CLI; the one place that catches errors and picks the exit code. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const onSigint = (): void => {
    // A second Ctrl-C does not wait for the clean-up.
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
    // Work that does not watch the signal (building a layer) gets a moment, then the process ends.
    setTimeout(() => {
      process.stderr.write('error: interrupted\n');
      process.exit(130);
    }, 5_000).unref();
  };
  process.on('SIGINT', onSigint);
  try {
    await program().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (interrupt.signal.aborted) {
      process.stderr.write('error: interrupted; nothing was tagged, and the next run picks up where this one stopped\n');
      process.exitCode = 130;
      return;
    }
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are bad input.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(err, debug);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
