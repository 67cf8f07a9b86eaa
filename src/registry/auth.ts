import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Challenge } from './challenge.js';
import type { Credential, CredentialStore } from './credentials.js';
import { RegistryError, parseErrorBody } from './errors.js';
import { discard, mayCarryCredentials, readText, type Http, type HttpResponse } from '../http/client.js';

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
    private readonly credentials: CredentialStore,
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
      // ECR and plain htpasswd registries; an identity token stands in for a password there.
      const secret = credential?.password ?? credential?.identityToken;
      if (!credential || secret === undefined) return credential ? { credential } : {};
      return { header: basicHeader(credential.username, secret), credential };
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
    this.events({ type: 'log', level: 'debug', message: `token for ${registry} (${scopes.join(' ') || 'no scope'}) from ${url.origin}${url.pathname}` });
    let res: HttpResponse | undefined;
    if (credential?.identityToken !== undefined) {
      // OAuth2 refresh-token grant (what `docker login` and `az acr login` store as identitytoken).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'shale' });
      if (challenge.service) form.set('service', challenge.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      res = await this.http.send({
        method: 'POST',
        url,
        verifyTls,
        body: Buffer.from(form.toString()),
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      });
      // Token services without the OAuth2 endpoint answer 404 or 405: ask the classic way, as
      // go-containerregistry and docker/distribution do. A 401 here is an answer (the token was refused).
      if (res.statusCode === 404 || res.statusCode === 405) {
        await discard(res);
        res = undefined;
      }
    }
    if (!res) {
      const get = new URL(url);
      if (challenge.service) get.searchParams.set('service', challenge.service);
      for (const s of scopes) get.searchParams.append('scope', s);
      const headers: Record<string, string> = { accept: 'application/json' };
      const secret = credential?.password ?? credential?.identityToken;
      if (credential && secret !== undefined) headers['authorization'] = basicHeader(credential.username, secret);
      res = await this.http.send({ method: 'GET', url: get, headers, verifyTls });
    }
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
    const cached: CachedToken = { token: token.token, expiresAt: tokenExpiry(token, Date.now()) };
    if (credential) cached.credential = credential;
    return cached;
  }
}

const basicHeader = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

/**
 * When to stop using a token: `issued_at` + `expires_in` (60 s when absent, as the token spec
 * says), less a margin for the request in flight. A server clock far from ours falls back to
 * our own clock, so skew neither expires every token at once nor keeps one too long.
 */
export function tokenExpiry(token: { expiresIn?: number; issuedAt?: string }, now: number): number {
  const ttl = Math.max(10, token.expiresIn ?? 60) * 1000;
  let start = now;
  const issued = token.issuedAt === undefined ? NaN : Date.parse(token.issuedAt);
  if (Number.isFinite(issued) && issued <= now && now - issued < ttl) start = issued;
  return start + ttl - Math.min(10_000, ttl / 5);
}

const tokenKey = (registry: string, scopes: readonly string[]): string => `${registry} ${[...scopes].sort().join(' ')}`;

function parseToken(text: string): { token: string; expiresIn?: number; issuedAt?: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') return undefined;
    const out: { token: string; expiresIn?: number; issuedAt?: string } = { token };
    if (typeof parsed.expires_in === 'number') out.expiresIn = parsed.expires_in;
    if (typeof parsed.issued_at === 'string') out.issuedAt = parsed.issued_at;
    return out;
  } catch {
    return undefined;
  }
}

/** The registry rejected the user's stored credentials. Names the user and where they came from, never the secret. */
export function refusedCredentials(registry: string, credential: Credential): ShaleError {
  if (credential.identityToken !== undefined) {
    return new ShaleError(
      'SHALE_REGISTRY_UNAUTHORIZED',
      `registry ${registry} refused the identity token for user '${credential.username}' (from ${credential.source}); it may have expired: log in again (\`docker login ${registry}\`, or \`az acr login\` for Azure)`,
    );
  }
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
