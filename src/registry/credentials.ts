import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB } from '../ref/reference.js';
import { displayPath, fromEntry, loadAuthFile, normalizeKey, type AuthFile } from './auth-file.js';
import { runCredentialHelper } from './cred-helper.js';

export { displayPath };

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

/** Where a CredentialStore looks. */
export interface CredentialStoreOptions {
  /** Docker's config.json. */
  dockerConfigPath: string;
  /** For `SHALE_REGISTRY_USER`/`_PASSWORD`/`_HOST`, `REGISTRY_AUTH_FILE` and `XDG_RUNTIME_DIR`. */
  env: NodeJS.ProcessEnv;
}

/**
 * Finds registry credentials, first match wins:
 * 1. `SHALE_REGISTRY_USER` + `SHALE_REGISTRY_PASSWORD` (CI), for every registry or only those in
 *    `SHALE_REGISTRY_HOST` (comma-separated);
 * 2. `REGISTRY_AUTH_FILE` (containers' auth.json), when set;
 * 3. Docker's config.json (`$DOCKER_CONFIG`): `credHelpers` for the host, else `credsStore`, then `auths`;
 * 4. `${XDG_RUNTIME_DIR}/containers/auth.json` (podman/skopeo/buildah logins).
 * Files are read once, lazily; none at all means anonymous access.
 */
export class CredentialStore {
  private files: Promise<AuthFile[]> | undefined;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();
  constructor(private readonly options: CredentialStoreOptions) {}

  /** Credentials for a registry name (`docker.io`, `127.0.0.1:5000`), or undefined for anonymous. */
  get(registry: string): Promise<Credential | undefined> {
    let p = this.cache.get(registry);
    if (!p) {
      p = this.lookup(registry);
      this.cache.set(registry, p);
      p.catch(() => this.cache.delete(registry));
    }
    return p;
  }

  private async lookup(registry: string): Promise<Credential | undefined> {
    const fromEnv = envCredential(registry, this.options.env);
    if (fromEnv) return fromEnv;
    const keys = configKeys(registry);
    for (const file of await (this.files ??= this.loadFiles())) {
      const source = displayPath(file.path);
      const helperKey = Object.keys(file.credHelpers).find((k) => keys.includes(normalizeKey(k)));
      const helper = helperKey === undefined ? file.credsStore : file.credHelpers[helperKey];
      if (helper) {
        const from = helperKey === undefined ? `credsStore in ${source}` : `credHelpers["${helperKey}"] in ${source}`;
        const got = await runCredentialHelper(helper, registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry, from);
        if (got) return got;
        if (helperKey !== undefined) return undefined; // a per-host helper is the answer for that host
      }
      for (const [key, entry] of Object.entries(file.auths)) {
        if (keys.includes(normalizeKey(key))) {
          const cred = fromEntry(entry, `${source}, auths["${key}"]`);
          if (cred) return cred;
        }
      }
    }
    return undefined;
  }

  private async loadFiles(): Promise<AuthFile[]> {
    const env = this.options.env;
    const paths: [string, string][] = [];
    const authFile = env['REGISTRY_AUTH_FILE'];
    if (authFile) paths.push([authFile, 'point REGISTRY_AUTH_FILE at another file']);
    paths.push([this.options.dockerConfigPath, 'point DOCKER_CONFIG at another directory']);
    const runtime = env['XDG_RUNTIME_DIR'];
    if (!authFile && runtime) paths.push([join(runtime, 'containers', 'auth.json'), 'run `podman login` again']);
    return Promise.all(paths.map(([p, fix]) => loadAuthFile(p, fix)));
  }
}

/** The registry names a config key may use for this registry (Docker Hub has several). */
function configKeys(registry: string): string[] {
  return registry === DOCKER_HUB ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [registry];
}

function envCredential(registry: string, env: NodeJS.ProcessEnv): Credential | undefined {
  const username = env['SHALE_REGISTRY_USER'];
  const password = env['SHALE_REGISTRY_PASSWORD'];
  if (!username || password === undefined) return undefined;
  const hosts = (env['SHALE_REGISTRY_HOST'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (hosts.length > 0 && !hosts.some((h) => configKeys(registry).includes(normalizeKey(h)) || normalizeKey(h) === registry)) return undefined;
  return { username, password, source: 'SHALE_REGISTRY_USER/SHALE_REGISTRY_PASSWORD' };
}
