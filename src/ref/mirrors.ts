import { InputError } from '../errors.js';
import { DOCKER_HUB } from './reference.js';

/**
 * Registry mirrors for pulls (README, "Registry mirrors"): registry name → mirror hosts, in the
 * order to try them. Pushes never use mirrors; images keep the name the user gave.
 */
export type Mirrors = ReadonlyMap<string, readonly string[]>;

/** The environment variable that configures mirrors. */
export const MIRRORS_ENV = 'SHALE_REGISTRY_MIRRORS';

/**
 * Parses `docker.io=127.0.0.1:5000,ghcr.io=mirror.local` (a registry may appear more than once to
 * list several mirrors). `source` names where the text came from, for error messages.
 */
export function parseMirrors(spec: string, source: string = MIRRORS_ENV): Mirrors {
  const out = new Map<string, string[]>();
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw badEntry(source, entry);
    add(out, entry.slice(0, eq), entry.slice(eq + 1), source, entry);
  }
  return out;
}

/**
 * Builds mirrors from a user config map (`registry-mirrors = { "docker.io" = "127.0.0.1:5000" }`,
 * a value may also be a list of hosts).
 */
export function mirrorsFromRecord(record: Readonly<Record<string, string | readonly string[]>>, source: string): Mirrors {
  const out = new Map<string, string[]>();
  for (const [registry, value] of Object.entries(record)) {
    for (const host of typeof value === 'string' ? [value] : value) add(out, registry, host, source, `${registry}=${host}`);
  }
  return out;
}

/** Mirrors from `SHALE_REGISTRY_MIRRORS`; empty when it is unset. */
export function mirrorsFromEnv(env: NodeJS.ProcessEnv = process.env): Mirrors {
  const spec = env[MIRRORS_ENV];
  return spec ? parseMirrors(spec, MIRRORS_ENV) : new Map();
}

/** Combines mirror maps; earlier maps' hosts come first (pass the environment before the config file). */
export function mergeMirrors(...maps: Mirrors[]): Mirrors {
  const out = new Map<string, string[]>();
  for (const m of maps) {
    for (const [registry, hosts] of m) {
      const list = out.get(registry) ?? [];
      for (const h of hosts) if (!list.includes(h)) list.push(h);
      out.set(registry, list);
    }
  }
  return out;
}

/** The hosts to pull from for `registry`: its mirrors first, then the registry itself. */
export function mirrorsFor(mirrors: Mirrors, registry: string): string[] {
  const hosts = [...(mirrors.get(normalizeRegistry(registry)) ?? [])];
  return hosts.includes(registry) ? hosts : [...hosts, registry];
}

function add(out: Map<string, string[]>, registryRaw: string, hostRaw: string, source: string, entry: string): void {
  const registry = normalizeRegistry(stripUrl(registryRaw));
  const host = stripUrl(hostRaw);
  if (!isHost(registry) || !isHost(host)) throw badEntry(source, entry);
  const list = out.get(registry) ?? [];
  if (!list.includes(host)) list.push(host);
  out.set(registry, list);
}

function badEntry(source: string, entry: string): InputError {
  return new InputError(
    'SHALE_BAD_MIRRORS',
    `${source}: mirror entry "${entry}" should be REGISTRY=HOST[:PORT], e.g. docker.io=127.0.0.1:5000 (entries separated by commas)`,
  );
}

// Docker's registry-mirrors are URLs ("https://mirror.gcr.io"); accept those and keep the host.
const stripUrl = (s: string): string =>
  s
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');

const normalizeRegistry = (r: string): string => (r === 'index.docker.io' || r === 'registry-1.docker.io' ? DOCKER_HUB : r);

const isHost = (s: string): boolean => /^(?:\[[a-fA-F0-9:.]+\]|[a-zA-Z0-9.-]+)(?::[0-9]{1,5})?$/.test(s);
