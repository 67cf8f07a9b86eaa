import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { DOCKER_HUB } from '../ref/reference.js';

/** Credentials for one registry. `source` says where they came from, for messages; it holds no secret. */
export interface Credential {
  username: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in config.json), exchanged at the token realm. */
  identityToken?: string;
  source: string;
}

/** Docker Hub's key in config.json, credential helpers and `docker login`. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as Docker resolves it. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'] || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** A path for messages, with the home directory shortened to `~`. */
export function displayPath(p: string): string {
  const home = homedir();
  return home && p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
}

/**
 * Reads registry credentials the way `docker login` stores them: `auths` entries in config.json
 * (base64 `auth` or `username`/`password`), `credHelpers` and `credsStore` helper programs.
 * Reads the file once, lazily; a missing file means anonymous access.
 */
export class DockerCredentials {
  private config: Promise<DockerConfig> | undefined;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();
  constructor(private readonly configPath: string = defaultDockerConfigPath()) {}

  /** Credentials for a registry name (`docker.io`, `127.0.0.1:5000`), or undefined for anonymous. */
  get(registry: string): Promise<Credential | undefined> {
    let p = this.cache.get(registry);
    if (!p) {
      p = this.lookup(registry);
      this.cache.set(registry, p);
    }
    return p;
  }

  private async lookup(registry: string): Promise<Credential | undefined> {
    const config = await (this.config ??= loadConfig(this.configPath));
    const keys = configKeys(registry);
    const source = displayPath(this.configPath);
    const helper = keys.map((k) => config.credHelpers[k]).find((h) => h !== undefined) ?? config.credsStore;
    if (helper) {
      const fromHelper = await runHelper(helper, registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry);
      if (fromHelper) return fromHelper;
    }
    for (const [key, entry] of Object.entries(config.auths)) {
      if (keys.includes(normalizeKey(key))) {
        const cred = fromEntry(entry, `${source}, auths["${key}"]`);
        if (cred) return cred;
      }
    }
    return undefined;
  }
}

/** The registry names a config.json key may use for this registry. */
function configKeys(registry: string): string[] {
  return registry === DOCKER_HUB ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [registry];
}

/** `https://index.docker.io/v1/` → `index.docker.io`, as Docker's ConvertToHostname. */
function normalizeKey(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0] ?? key;
}

function fromEntry(entry: AuthEntry, source: string): Credential | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) {
      throw new InputError('SHALE_BAD_DOCKER_CONFIG', `${source}: "auth" is not base64 of "user:password"; run \`docker login\` again or fix the entry`);
    }
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (entry.identitytoken) return { username: username ?? '<token>', identityToken: entry.identitytoken, source };
  if (username === undefined || username === '') return undefined;
  return password === undefined ? { username, source } : { username, password, source };
}

async function loadConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {}, credHelpers: {} };
    throw new InputError('SHALE_BAD_DOCKER_CONFIG', `cannot read ${displayPath(path)}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError(
      'SHALE_BAD_DOCKER_CONFIG',
      `${displayPath(path)} is not valid JSON (${(err as Error).message}); fix it or point DOCKER_CONFIG at another directory`,
      { cause: err },
    );
  }
  const rec = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const config: DockerConfig = { auths: objectOf(rec['auths']) as Record<string, AuthEntry>, credHelpers: {} };
  for (const [k, v] of Object.entries(objectOf(rec['credHelpers']))) if (typeof v === 'string') config.credHelpers[k] = v;
  if (typeof rec['credsStore'] === 'string' && rec['credsStore'] !== '') config.credsStore = rec['credsStore'];
  return config;
}

const objectOf = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Asks `docker-credential-NAME get` for a registry's credentials; undefined when it has none or is missing. */
function runHelper(name: string, serverUrl: string): Promise<Credential | undefined> {
  return new Promise((resolve) => {
    const child = execFile(`docker-credential-${name}`, ['get'], { timeout: 30_000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const out = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
        const username = typeof out.Username === 'string' ? out.Username : '';
        const secret = typeof out.Secret === 'string' ? out.Secret : '';
        const source = `credential helper docker-credential-${name}`;
        if (!secret) return resolve(undefined);
        // Docker's convention: a helper answering "<token>" returns an identity token.
        resolve(username === '<token>' ? { username, identityToken: secret, source } : { username, password: secret, source });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.end(serverUrl);
  });
}
