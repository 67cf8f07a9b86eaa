import { posix } from 'node:path';
import { pathDirs } from '../base/path.js';
import { platformString, type ImageConfig } from '../oci/types.js';
import { expectedMachine, machineName } from './elf.js';
import { verdict, type CheckResult, type ImageView } from './result.js';
import { RootFs } from './root-fs.js';

/** The program a container of this config runs: the entrypoint's first word, else the cmd's. */
export function entrypointProgram(config: ImageConfig): string | undefined {
  const c = config.config ?? {};
  return c.Entrypoint?.[0] ?? c.Cmd?.[0];
}

const searched = (config: ImageConfig): string[] => pathDirs(config.config?.Env);

/** Where the runtime finds `program`: absolute, relative to WorkingDir, or on the config's PATH. */
function candidates(program: string, config: ImageConfig): string[] {
  if (program.startsWith('/')) return [program];
  if (program.includes('/')) return [posix.join(config.config?.WorkingDir || '/', program)];
  return searched(config).map((d) => posix.join(d, program));
}

/**
 * The entrypoint's program exists in the image (base layers included), is an executable file,
 * and, when it is ELF, is built for the image's platform.
 */
export function checkEntrypoint(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const found: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const program = entrypointProgram(img.config);
    if (program === undefined) {
      problems.push(`${plat}: the image has neither an entrypoint nor a cmd`);
      continue;
    }
    const fs = new RootFs(img.layers.map((l) => l.entries));
    const where = candidates(program, img.config);
    const hit = where.map((p) => ({ asked: p, got: fs.resolve(p) })).find((c) => c.got?.entry.type === 'file' || c.got?.entry.type === 'link');
    if (!hit?.got) {
      const how = program.includes('/') ? `at ${where[0]}` : `on PATH (${searched(img.config).join(':') || 'empty'})`;
      problems.push(`${plat}: the entrypoint's program "${program}" is not in the image ${how}`);
      continue;
    }
    const { entry, path } = hit.got;
    if ((entry.mode & 0o111) === 0) problems.push(`${plat}: the entrypoint's program ${path} is not executable (mode ${entry.mode.toString(8)})`);
    const want = expectedMachine(img.platform);
    if (entry.elf && want !== undefined && entry.elf.machine !== want) {
      problems.push(`${plat}: the entrypoint's program ${path} is ${machineName(entry.elf.machine)}, not ${machineName(want)}`);
    }
    const kind = entry.elf ? `${machineName(entry.elf.machine)} ELF` : 'script';
    found.push(`${plat}: ${program} is ${hit.asked}${path === hit.asked ? '' : ` → ${path}`} (${kind})`);
  }
  return verdict('entrypoint', problems, found.join('; '));
}
