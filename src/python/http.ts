/**
 * The HTTP shale's Python side needs, on the shared HTTP layer (src/http): GET a page, download
 * a file (or part of one), HEAD a file for its size. Credentials in a URL
 * (https://user:token@host/simple) become a Basic Authorization header; without them, `.netrc`
 * may supply them for the host. Redirects are followed (credentials stay on their origin);
 * network failures, timeouts, 408, 429 and 5xx are retried within the retry budget
 * (`SHALE_RETRY_BUDGET`), as registry calls are; Ctrl-C (the signal) stops any of it.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { Http, NetworkError, discard, networkError, timeoutFromEnv } from '../http/client.js';
import { InterruptedError } from '../http/errors.js';
import { MAX_REDIRECTS, credentialsMayGo, redirectTarget } from '../http/redirect.js';
import { DEFAULT_RETRY, RetryBudget, budgetFromEnv, parseRetryAfter, retryLine, systemClock, type Clock, type RetryPolicy } from '../http/retry.js';
import { netrcCredentials } from './netrc.js';

/** A URL without credentials, and the headers that carry them. */
export function splitCredentials(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url, headers: {} };
  const token = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { url: u.toString(), headers: { authorization: `Basic ${token}` } };
}

/** A URL safe to print: credentials replaced by "***". */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url;
  }
}

/** A response, read like fetch's: status, headers, and a body read once (or cancelled). */
export interface HttpResponse {
  status: number;
  ok: boolean;
  statusText: string;
  /** The URL that answered, after redirects. */
  url: string;
  headers: { get(name: string): string | null };
  /** The body as a Node stream; read it, or `cancel()`. A failure while reading it: see {@link PackageHttp.bodyError}. */
  body: Readable;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  cancel(): Promise<void>;
}

/** How package downloads connect; every field has a default (environment, real clock, no cancellation). */
export interface PackageHttpOptions {
  /** Ctrl-C: aborts every request in flight and every retry wait. */
  signal?: AbortSignal;
  /** Where retries are reported (debug lines). */
  events?: Events;
  /** A stalled request fails after this long; default `SHALE_REGISTRY_TIMEOUT` seconds, else 120 s. */
  timeoutMs?: number;
  /** Patience for temporary failures; default `SHALE_RETRY_BUDGET` seconds, else 60 s. */
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}

/** What to do after a package download gave up. */
const HINT = 'check the URL and the network, or use find-links with a local directory';

/** Retried statuses: 408, 429 and 5xx, as for registries. */
const retryable = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/** Package indexes and file hosts over HTTP; one per build (see the file comment). */
export class PackageHttp {
  private readonly http: Http;
  private readonly events: Events;
  private readonly retry: RetryPolicy;
  private readonly clock: Clock;

  constructor(options: PackageHttpOptions = {}) {
    const env = options.env ?? process.env;
    // Node's own client (the registry's): global fetch would load undici (~70 ms and a
    // WebAssembly parser) and has no timeout for a server that stops answering.
    this.http = new Http({
      userAgent: 'shale',
      peer: 'package index',
      timeoutMs: options.timeoutMs ?? timeoutFromEnv(env),
      trust: { env },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.events = options.events ?? noEvents;
    const budgetMs = budgetFromEnv(env);
    this.retry = { ...DEFAULT_RETRY, ...(budgetMs === undefined ? {} : { budgetMs }), ...options.retry };
    this.clock = options.clock ?? systemClock;
  }

  /** The signal that cancels this client's work, if any. */
  get signal(): AbortSignal | undefined {
    return this.http.signal;
  }

  /**
   * GETs a URL. Network failures are runtime errors naming the URL; the caller reads the status.
   * `headers` adds request headers (a `Range` for reading part of a wheel); they never replace the
   * credentials' Authorization header. `authFrom` is the index whose credentials a file on its
   * host may use.
   */
  get(url: string, accept: string, authFrom?: string, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request('GET', url, accept, authFrom, headers);
  }

  /** HEADs a URL (to learn a file's size without downloading it); errors as for {@link get}. */
  head(url: string, authFrom?: string): Promise<HttpResponse> {
    return this.request('HEAD', url, '*/*', authFrom);
  }

  /**
   * The error for a failure while reading a response's body (`url` for the message): Ctrl-C is
   * InterruptedError; a stalled or cut body says which host stopped answering.
   */
  bodyError(url: string, err: unknown): Error {
    if (this.signal?.aborted) return new InterruptedError();
    if (err instanceof ShaleError) return err;
    return new ShaleError('SHALE_NETWORK', `reading ${redact(url)}: ${failureText(url, err)}; ${HINT}`, { cause: err });
  }

  /** Closes the connection pools. */
  close(): Promise<void> {
    return this.http.close();
  }

  private async request(method: 'GET' | 'HEAD', url: string, accept: string, authFrom?: string, extra: Record<string, string> = {}): Promise<HttpResponse> {
    const plain = splitCredentials(url);
    const credentials = credentialsFor(plain, authFrom);
    let target = new URL(plain.url);
    const origin = target.origin;
    const budget = new RetryBudget(this.retry, this.clock, Math.random, 'package index');
    const action = `${method} ${redact(url)}`;
    try {
      for (let hop = 0; ;) {
        // Credentials never follow a redirect to another origin.
        const auth = credentialsMayGo(origin, target) ? credentials : {};
        let res;
        try {
          res = await this.http.send({ method, url: target, headers: { accept, ...extra, ...auth }, verifyTls: true });
        } catch (err) {
          const delay = err instanceof NetworkError && err.temporary && !this.signal?.aborted ? budget.next(err) : undefined;
          if (delay === undefined) {
            budget.markGaveUp(err, HINT);
            throw err;
          }
          await this.wait(action, err, delay, budget);
          continue;
        }
        const next = redirectTarget(res.statusCode, res.headers.location, target);
        if (next && hop < MAX_REDIRECTS) {
          await discard(res);
          target = next;
          hop++;
          continue;
        }
        if (retryable(res.statusCode)) {
          const answer = Object.assign(new Error(`the package index answered ${res.statusCode}`), {
            retryAfterMs: parseRetryAfter(header(res.headers, 'retry-after')),
          });
          const delay = budget.next(answer);
          if (delay !== undefined) {
            await discard(res);
            await this.wait(action, answer, delay, budget);
            continue;
          }
        }
        return wrap(res, target.toString(), (err) => this.bodyError(target.toString(), err));
      }
    } catch (err) {
      if (err instanceof InterruptedError || this.signal?.aborted) throw new InterruptedError();
      const why = err instanceof Error ? ` (${err.message})` : '';
      throw new ShaleError('SHALE_NETWORK', `cannot ${method} ${redact(url)}${why}${why.includes(HINT) ? '' : `; ${HINT}`}`, { cause: err });
    }
  }

  private async wait(action: string, err: unknown, delay: number, budget: RetryBudget): Promise<void> {
    this.events({ type: 'log', level: 'debug', message: retryLine(action, err, delay, budget) });
    await budget.sleep(delay, this.signal);
  }
}

/** The Authorization for a request: the URL's own credentials, the index's (a file on its host, as pip does), else `.netrc`'s. */
function credentialsFor(plain: { url: string; headers: Record<string, string> }, authFrom: string | undefined): Record<string, string> {
  if (Object.keys(plain.headers).length) return plain.headers;
  if (authFrom) {
    const idx = splitCredentials(authFrom);
    if (Object.keys(idx.headers).length && new URL(idx.url).host === new URL(plain.url).host) return idx.headers;
  }
  const netrc = netrcCredentials(new URL(plain.url).host);
  return netrc ? { authorization: `Basic ${Buffer.from(`${netrc.login}:${netrc.password}`).toString('base64')}` } : {};
}

/** What went wrong with a request to `url`, in words: "package index pypi.org stopped answering (the response stalled; timed out)". */
export function failureText(url: string, err: unknown): string {
  return networkError(hostOf(url), err, 'package index').message;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function wrap(res: { statusCode: number; headers: IncomingHttpHeaders; body: IncomingMessage }, url: string, fail: (err: unknown) => Error): HttpResponse {
  const bytes = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of res.body) parts.push(chunk as Buffer);
    } catch (err) {
      throw fail(err);
    }
    return Buffer.concat(parts);
  };
  return {
    status: res.statusCode,
    ok: res.statusCode >= 200 && res.statusCode < 300,
    statusText: res.body.statusMessage ?? '',
    url,
    headers: { get: (name) => header(res.headers, name.toLowerCase()) ?? null },
    body: res.body,
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
    cancel: async () => {
      res.body.destroy();
    },
  };
}

let fallback: PackageHttp | undefined;
/**
 * The client for callers outside a build (library helpers, tests): no cancellation, settings
 * from the environment. A build makes its own, with its signal and events.
 */
export function defaultPackageHttp(): PackageHttp {
  fallback ??= new PackageHttp();
  return fallback;
}
