import type { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import { registryApiHost } from '../ref/reference.js';
import { accessDenied, loginRequired, refusedCredentials, type Authenticator } from './auth.js';
import { parseChallenge, type Challenge } from './challenge.js';
import { InterruptedError, RegistryError, parseErrorBody } from './errors.js';
import {
  NetworkError,
  discard,
  endpointCandidates,
  header,
  isTlsTrustError,
  readText,
  type Endpoint,
  type Http,
  type HttpRequest,
  type HttpResponse,
  type Method,
} from '../http/client.js';
import { MAX_REDIRECTS, REDIRECT_STATUSES, credentialsMayGo } from '../http/redirect.js';
import { wrongNameMessage } from '../http/tls.js';
import { RETRY_HINT, RetryBudget, isTemporary, parseRetryAfter, retryLine, systemClock, type Clock, type RetryPolicy } from './retry.js';

export { isTemporary, type RetryPolicy };

/** One API call: the registry, what to send, and the token scopes it needs. */
export interface Exchange {
  registry: string;
  method: Method;
  /** A path on the registry (`/v2/...`) or an absolute URL the registry gave (an upload Location). */
  target: string | URL;
  scopes: readonly string[];
  headers?: Record<string, string>;
  /** Opens the body; called again if the request must be re-sent after an auth challenge. */
  body?: () => Promise<Buffer | Readable> | Buffer;
  followRedirects?: boolean;
  /** Clean-up that must go out even after Ctrl-C (see HttpRequest.cleanup). */
  cleanup?: boolean;
  /** Hold a large body until the registry says it wants it (see HttpRequest.expectContinue). */
  expectContinue?: boolean;
}

/** How one retried operation runs: a budget to share (an upload's steps), and what the final error tells the user to do. */
export interface RetryingOptions {
  budget?: RetryBudget;
  hint?: string;
}

/**
 * The registry connection: finds each registry's endpoint and auth challenge with one ping, then
 * sends requests with the right Authorization, answers 401 challenges once, follows redirects
 * (without credentials when they leave the registry) and retries temporary failures.
 */
export class RegistryTransport {
  private readonly pings = new Map<string, Promise<Endpoint>>();
  constructor(
    private readonly http: Http,
    private readonly auth: Authenticator,
    private readonly insecure: ReadonlySet<string>,
    private readonly events: Events,
    private readonly retry: RetryPolicy,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A fresh retry budget for one operation (the policy's time, on this transport's clock). */
  budget(): RetryBudget {
    return new RetryBudget(this.retry, this.clock);
  }

  /** The signal that cancels this transport's work (Ctrl-C), if any. */
  get signal(): AbortSignal | undefined {
    return this.http.signal;
  }

  /** The registry's endpoint, pinging it the first time (cached, also when it fails, per call). */
  endpoint(registry: string): Promise<Endpoint> {
    let p = this.pings.get(registry);
    if (!p) {
      p = this.retrying(`contacting registry ${registry}`, () => this.ping(registry)).then((r) => r.endpoint);
      this.pings.set(registry, p);
      p.catch(() => this.pings.delete(registry));
    }
    return p;
  }

  /** GET /v2/ on each candidate endpoint; learns the scheme that works and the auth challenge. */
  async ping(registry: string): Promise<{ endpoint: Endpoint; challenge: Challenge }> {
    const host = registryApiHost(registry);
    const candidates = endpointCandidates(host, this.insecure);
    let lastErr: unknown;
    let trustErr: unknown;
    for (const [i, endpoint] of candidates.entries()) {
      const more = i < candidates.length - 1;
      let res: HttpResponse;
      try {
        res = await this.http.send({ method: 'GET', url: new URL('/v2/', endpoint.origin), headers: {}, verifyTls: endpoint.verifyTls });
      } catch (err) {
        if (err instanceof InterruptedError) throw err;
        lastErr = err instanceof NetworkError && !err.temporary ? rename(certificateFor(err, host), host, registry) : err;
        if (isTlsTrustError(err)) trustErr = lastErr;
        continue;
      }
      if (res.statusCode === 200 || res.statusCode === 401) {
        const challenge =
          res.statusCode === 401 ? (parseChallenge(header(res, 'www-authenticate')) ?? { scheme: 'basic' as const }) : { scheme: 'none' as const };
        await discard(res);
        this.auth.setChallenge(registry, challenge);
        return { endpoint, challenge };
      }
      const errors = parseErrorBody(await readText(res, 1 << 16));
      const plainToTls = res.statusCode === 400 && endpoint.origin.startsWith('http:');
      // A TLS server answers plain HTTP with 400: try the next way (HTTPS), or say why it failed there.
      if (plainToTls && more) continue;
      if (plainToTls && trustErr) throw trustErr;
      const hint =
        res.statusCode === 404
          ? ' (no /v2/ API there: is this a container registry?)'
          : plainToTls
            ? ` (it may speak only HTTPS; give its CA with --registry-ca FILE, or for a test registry pass --insecure-registry ${host})`
            : '';
      const err = new RegistryError(`contacting registry ${registry} at ${endpoint.origin}/v2/${hint}`, res.statusCode, errors);
      const wait = parseRetryAfter(header(res, 'retry-after'));
      if (wait !== undefined) err.retryAfterMs = wait;
      throw err;
    }
    throw trustErr ?? lastErr;
  }

  /** Sends one API call and returns the response, whatever its status (auth failures throw). */
  async send(x: Exchange): Promise<HttpResponse> {
    const endpoint = await this.endpoint(x.registry);
    let url = typeof x.target === 'string' ? new URL(x.target, endpoint.origin) : x.target;
    let scopes = x.scopes;
    let challenged = false;
    for (let hops = 0; ;) {
      const sameOrigin = credentialsMayGo(endpoint.origin, url);
      const authz = sameOrigin ? await this.auth.authorization(x.registry, scopes) : {};
      const headers: Record<string, string> = { ...x.headers };
      if (authz.header) headers['authorization'] = authz.header;
      const body = x.body ? await x.body() : undefined;
      const verifyTls = sameOrigin ? endpoint.verifyTls : !(this.insecure.has(url.host) || this.insecure.has(url.hostname));
      const req: HttpRequest = { method: x.method, url, headers, verifyTls };
      if (body !== undefined) req.body = body;
      if (x.cleanup) req.cleanup = true;
      if (x.expectContinue) req.expectContinue = true;
      const res = await this.http.send(req).catch((err: unknown) => {
        throw certificateFor(err, url.host);
      });

      if (res.statusCode === 401 && sameOrigin) {
        const challenge = parseChallenge(header(res, 'www-authenticate'));
        await discard(res);
        if (!challenged) {
          // The registry wants something else (a token with more scope, or auth it did not ask for at ping).
          challenged = true;
          if (challenge) this.auth.setChallenge(x.registry, challenge);
          this.auth.invalidate(x.registry, scopes);
          if (challenge?.scheme === 'bearer' && challenge.scope && !scopes.includes(challenge.scope)) scopes = [...scopes, challenge.scope];
          continue;
        }
        if (!authz.credential) throw loginRequired(x.registry, scopes);
        throw challenge?.scheme === 'bearer' ? accessDenied(x.registry, scopes, authz.credential) : refusedCredentials(x.registry, authz.credential);
      }
      if (x.followRedirects && REDIRECT_STATUSES.has(res.statusCode)) {
        const location = header(res, 'location');
        await discard(res);
        if (!location || ++hops > MAX_REDIRECTS)
          throw new ShaleError('SHALE_REGISTRY_REDIRECT', `registry ${x.registry} redirected ${x.method} ${url.pathname} too often or without a Location`);
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  /**
   * Runs `fn`, retrying when it throws a temporary failure (a network error, or a RegistryError for
   * 408/429/5xx) while the operation's retry budget lasts, waiting what `Retry-After` says or a
   * capped, jittered, doubling delay. `action` names the work in log events; the final error says
   * how long it tried and `hint` (what to do now).
   */
  async retrying<T>(action: string, fn: (attempt: number, budget: RetryBudget) => Promise<T>, opts: RetryingOptions = {}): Promise<T> {
    const budget = opts.budget ?? this.budget();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt, budget);
      } catch (err) {
        if (this.http.signal?.aborted) throw new InterruptedError();
        if (!isTemporary(err)) throw err;
        const delay = budget.next(err);
        if (delay === undefined) {
          budget.markGaveUp(err, opts.hint ?? RETRY_HINT);
          throw err;
        }
        this.events({ type: 'log', level: 'debug', message: retryLine(action, err, delay, budget) });
        await budget.sleep(delay, this.http.signal);
      }
    }
  }
}

/** A RegistryError from an error response (reads its body unless `head`), with the `Retry-After` it gave. */
export async function responseError(res: HttpResponse, action: string, head = false): Promise<RegistryError> {
  const errors = head ? [] : parseErrorBody(await readText(res, 1 << 16).catch(() => ''));
  if (head) await discard(res);
  const err = new RegistryError(action, res.statusCode, errors);
  const wait = parseRetryAfter(header(res, 'retry-after'));
  if (wait !== undefined) err.retryAfterMs = wait;
  return err;
}

/** A certificate for other host names is not an untrusted CA: say which names it is for (tls.ts). */
function certificateFor<E>(err: E, host: string): E | NetworkError {
  const message = err instanceof NetworkError ? wrongNameMessage(host, err) : undefined;
  return message && err instanceof NetworkError ? new NetworkError(message, err.netCode, false, err.cause) : err;
}

// Messages name the registry the user wrote ("docker.io"), not only its API host.
function rename(err: NetworkError, host: string, registry: string): NetworkError {
  if (host === registry) return err;
  return new NetworkError(err.message.replace(`registry ${host}`, `registry ${registry} (${host})`), err.netCode, err.temporary, err.cause);
}
