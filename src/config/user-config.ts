import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { InputError } from '../errors.js';
import { mergeMirrors, mirrorsFromEnv, mirrorsFromRecord, type Mirrors } from '../ref/mirrors.js';

/** The user's own settings file: `$SHALE_CONFIG`, else `$XDG_CONFIG_HOME/shale/config.toml` (~/.config/shale/config.toml). */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHALE_CONFIG || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'shale', 'config.toml');
}

/**
 * Registry mirrors for pulls (README, "Registry mirrors"): `SHALE_REGISTRY_MIRRORS` first, then
 * `registry-mirrors` in the user config file, e.g.
 * `registry-mirrors = { "docker.io" = ["mirror.local:5000"] }`. A missing file is no mirrors.
 */
export function registryMirrors(env: NodeJS.ProcessEnv = process.env): Mirrors {
  const file = userConfigPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return mirrorsFromEnv(env);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    const where = e instanceof TomlError ? `:${e.line}:${e.column}` : '';
    throw new InputError('SHALE_CONFIG_TOML', `${file}${where}: invalid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  const raw = doc['registry-mirrors'];
  if (raw === undefined) return mirrorsFromEnv(env);
  const ok =
    typeof raw === 'object' &&
    raw !== null &&
    !Array.isArray(raw) &&
    Object.values(raw).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
  if (!ok)
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `${file}: \`registry-mirrors\` must map a registry to a mirror host or a list of them, like registry-mirrors = { "docker.io" = ["127.0.0.1:5000"] }`,
    );
  return mergeMirrors(mirrorsFromEnv(env), mirrorsFromRecord(raw as Record<string, string | string[]>, `${file} registry-mirrors`));
}
