import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Challenge } from './challenge.js';
import type { Credential, DockerCredentials } from './credentials.js';
import { RegistryError, parseErrorBody } from './errors.js';
import { discard, mayCarryCredentials, readText, type Http } from './http.js';

/** The Authorization header for a request, and whether it was made from the user's credentials. */
export interface Authorization {
  header?: string;
  credential?: Credential;
}

interface CachedToken {
  token: string;
  expiresAt: number;
  credential?: Credential;
}

/**
 * Turns a registry's challenge into Authorization headers: nothing for open registries, Basic from
 * the user's Docker credentials, or a Bearer token fetched from the token realm (with Basic
 * credentials when there are any, anonymously otherwise), cached per registry and scope set.
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  constructor(
    private readonly http: Http,
    private readonly credentials: DockerCredentials,
    private readonly insecure: ReadonlySet<string>,
    private readonly events: Events,
  ) {}

  /** Records what a registry asked for (from the ping, or a later 401). */
  setChallenge(registry: string, challenge: Challenge): void {
    this.challenges.set(registry, challenge);
  }

  /** The Authorization for a request to `registry` that needs `scopes`. */
  async authorization(registry: string, scopes: readonly string[]): Promise<Authorization> {
    const challenge = this.challenges.get(registry) ?? { scheme: 'none' };
    if (challenge.scheme === 'none') return {};
    const credential = await this.credentials.get(registry);
    if (challenge.scheme === 'basic') {
      if (!credential || credential.password === undefined) return credential ? { credential } : {};
      const basic = Buffer.from(`${credential.username}:${credential.password}`).toString('base64');
      return { header: `Basic ${basic}`, credential };
    }
    const key = tokenKey(registry, scopes);
    let p = this.tokens.get(key);
    if (p) {
      const cached = await p.catch(() => undefined);
      if (!cached || cached.expiresAt <= Date.now()) p = undefined;
    }
    if (!p) {
      p = this.fetchToken(registry, challenge, scopes, credential);
      this.tokens.set(key, p);
      p.catch(() => this.tokens.delete(key));
    }
    const t = await p;
    return t.credential ? { header: `Bearer ${t.token}`, credential: t.credential } : { header: `Bearer ${t.token}` };
  }

  /** Forgets a token the registry rejected, so the next request fetches a fresh one. */
  invalidate(registry: string, scopes: readonly string[]): void {
    this.tokens.delete(tokenKey(registry, scopes));
  }

  private async fetchToken(
    registry: string,
    challenge: Extract<Challenge, { scheme: 'bearer' }>,
    scopes: readonly string[],
    credential: Credential | undefined,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new ShaleError('SHALE_REGISTRY_AUTH', `registry ${registry} named an invalid token realm "${challenge.realm}"`);
    }
    if (credential && !mayCarryCredentials(url, this.insecure)) {
      throw new ShaleError(
        'SHALE_REGISTRY_AUTH',
        `registry ${registry} asks for credentials at ${url.origin} over plain HTTP; refusing to send them. Use HTTPS, or pass --insecure-registry ${url.host} if this is a test setup`,
      );
    }
    const verifyTls = !(this.insecure.has(url.host) || this.insecure.has(url.hostname));
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: Buffer | undefined;
    let method: 'GET' | 'POST' = 'GET';
    if (credential?.identityToken !== undefined) {
      // OAuth2 refresh-token grant (what `docker login` stores as identitytoken).
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'shale' });
      if (challenge.service) form.set('service', challenge.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      body = Buffer.from(form.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (challenge.service) url.searchParams.set('service', challenge.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (credential?.password !== undefined) {
        headers['authorization'] = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      }
    }
    this.events({ type: 'log', level: 'debug', message: `token for ${registry} (${scopes.join(' ') || 'no scope'}) from ${url.origin}${url.pathname}` });
    const res = await this.http.send(body ? { method, url, headers, body, verifyTls } : { method, url, headers, verifyTls });
    if (res.statusCode === 401 || res.statusCode === 403) {
      await discard(res);
      if (credential) throw refusedCredentials(registry, credential);
      throw loginRequired(registry, scopes);
    }
    if (res.statusCode !== 200) {
      const errors = parseErrorBody(await readText(res, 1 << 16));
      throw new RegistryError(`getting an access token for ${registry} from ${url.host}`, res.statusCode, errors);
    }
    const text = await readText(res, 1 << 20);
    const token = parseToken(text);
    if (!token) {
      throw new ShaleError('SHALE_REGISTRY_AUTH', `the token service of ${registry} (${url.host}) answered without a token`);
    }
    const ttl = Math.max(30, token.expiresIn ?? 60);
    const cached: CachedToken = { token: token.token, expiresAt: Date.now() + (ttl - 10) * 1000 };
    if (credential) cached.credential = credential;
    return cached;
  }
}

const tokenKey = (registry: string, scopes: readonly string[]): string => `${registry} ${[...scopes].sort().join(' ')}`;

function parseToken(text: string): { token: string; expiresIn?: number } | undefined {
  try {
    const parsed = JSON.parse(text) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') return undefined;
    return typeof parsed.expires_in === 'number' ? { token, expiresIn: parsed.expires_in } : { token };
  } catch {
    return undefined;
  }
}

/** The registry rejected the user's stored credentials. Names the user and where they came from, never the secret. */
export function refusedCredentials(registry: string, credential: Credential): ShaleError {
  return new ShaleError(
    'SHALE_REGISTRY_UNAUTHORIZED',
    `registry ${registry} refused the credentials for user '${credential.username}' (from ${credential.source}); run \`docker login ${registry}\` or fix the entry`,
  );
}

/** The registry wants a login and the user has none stored for it. */
export function loginRequired(registry: string, scopes: readonly string[]): ShaleError {
  const what = scopes.map((s) => s.replace(/^repository:/, '')).join(', ');
  return new ShaleError(
    'SHALE_REGISTRY_UNAUTHORIZED',
    `registry ${registry} requires a login for ${what || 'access'} and no credentials are stored for it; the repository may not exist, or run \`docker login ${registry}\``,
  );
}

/** The registry accepted who the user is but not what they asked to do. */
export function accessDenied(registry: string, scopes: readonly string[], credential: Credential): ShaleError {
  const what = scopes.map((s) => s.replace(/^repository:/, '')).join(', ');
  return new ShaleError(
    'SHALE_REGISTRY_DENIED',
    `registry ${registry} denied user '${credential.username}' (from ${credential.source}) access to ${what}; check the repository name and that the user may use it`,
  );
}
