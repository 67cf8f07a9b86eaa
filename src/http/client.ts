/**
 * HTTP for registries and package indexes alike (README.md): one request at a time over Node's
 * keep-alive agents, a timeout for a peer that stops answering, Ctrl-C through an AbortSignal,
 * the TLS policy (which endpoints a host is tried on, where credentials may go), and errors that
 * name the host and say what to do. Retries are `retry.ts`'s; redirects `redirect.ts`'s.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { InterruptedError } from './errors.js';
import { trustContext, type TrustOptions } from './tls.js';

/** HTTP methods the distribution API uses. */
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP request. `verifyTls: false` only for hosts the user listed as insecure. */
export interface HttpRequest {
  method: Method;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  verifyTls: boolean;
  /** Clean-up after an interruption (DELETE of an upload): sent even after Ctrl-C, with a short deadline. */
  cleanup?: boolean;
  /**
   * Send `Expect: 100-continue` and hold the body until the server says it wants it (large
   * uploads): a registry or load balancer that refuses the request (503, 429, 401, 413) then
   * costs headers, not the body.
   */
  expectContinue?: boolean;
}

/** A response: status, headers (lower-case names) and a body that must be read or discarded. */
export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** How to reach a registry: its origin (`https://ghcr.io`) and whether TLS is verified. */
export interface Endpoint {
  origin: string;
  verifyTls: boolean;
}

/** A network failure talking to a host (refused, reset, DNS, TLS), with whether a retry may help. */
export class NetworkError extends ShaleError {
  readonly temporary: boolean;
  readonly netCode: string;
  constructor(message: string, netCode: string, temporary: boolean, cause: unknown) {
    super('SHALE_REGISTRY_UNREACHABLE', message, { cause });
    this.name = 'NetworkError';
    this.netCode = netCode;
    this.temporary = temporary;
  }
}

/** The host part of `host[:port]` (`[::1]:5000` → `::1`). */
export function hostName(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (m?.[1]) return m[1];
  const i = host.lastIndexOf(':');
  return i > 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

/** Whether a registry host is this machine (127.0.0.0/8, localhost, ::1): plain HTTP is always allowed there. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || name === '0:0:0:0:0:0:0:1';
}

/**
 * The ways to try reaching a registry, in order. Loopback hosts speak plain HTTP, or verified HTTPS
 * when plain HTTP is refused (a local registry with its own CA, see `--registry-ca`); hosts the user
 * listed as insecure get HTTPS without certificate checks first, then plain HTTP; everything else
 * gets verified HTTPS only (README, `--insecure-registry`).
 */
export function endpointCandidates(host: string, insecure: ReadonlySet<string>): Endpoint[] {
  if (insecure.has(host) || insecure.has(hostName(host))) {
    return [
      { origin: `https://${host}`, verifyTls: false },
      { origin: `http://${host}`, verifyTls: true },
    ];
  }
  if (isLoopbackHost(host))
    return [
      { origin: `http://${host}`, verifyTls: true },
      { origin: `https://${host}`, verifyTls: true },
    ];
  return [{ origin: `https://${host}`, verifyTls: true }];
}

/** Whether an origin may receive credentials: HTTPS anywhere, plain HTTP only on loopback or insecure hosts. */
export function mayCarryCredentials(url: URL, insecure: ReadonlySet<string>): boolean {
  return url.protocol === 'https:' || isLoopbackHost(url.host) || insecure.has(url.host) || insecure.has(url.hostname);
}

/** How the HTTP layer connects: timeouts, trusted CAs, cancellation. */
export interface HttpOptions {
  userAgent: string;
  /** What the peers are, for messages ("registry" unless said: "package index"). */
  peer?: string;
  /** Longest wait for a response's headers, or between two pieces of a body, before the request fails (and may be retried). */
  timeoutMs: number;
  trust?: TrustOptions;
  /** Aborts every request in flight and every later one (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Sends HTTP requests with Node's own client (keep-alive agents, one per kind of TLS check).
 * Node's http parses responses natively; undici, which we used before, took ~70 ms to import and
 * instantiates a WebAssembly parser on first use that briefly adds ~40 MB to the process.
 */
export class Http {
  private plainAgent: HttpAgent | undefined;
  private verifiedAgent: HttpsAgent | undefined;
  private unverifiedAgent: HttpsAgent | undefined;
  /** Origins that did not answer `Expect: 100-continue` in time: later bodies go without waiting. */
  private readonly noContinue = new Set<string>();
  constructor(private readonly options: HttpOptions) {}

  /** The signal that cancels this client's work, if any. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /**
   * Sends one request (no retries, no redirects). Network failures, and `timeoutMs` without a
   * byte in either direction (waiting for the response or in the middle of its body), become
   * `NetworkError`; an error of the request body's stream is passed through as it is.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const signal = req.cleanup ? AbortSignal.timeout(3_000) : this.options.signal;
    if (signal?.aborted) throw new InterruptedError();
    try {
      return await this.exchange(req, signal);
    } catch (err) {
      if (this.options.signal?.aborted) throw new InterruptedError();
      throw networkError(req.url.host, err, this.options.peer);
    }
  }

  private exchange(req: HttpRequest, signal: AbortSignal | undefined): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const https = req.url.protocol === 'https:';
      const body = req.body;
      const expect = req.expectContinue === true && body !== undefined && !this.noContinue.has(req.url.origin);
      const out: ClientRequest = (https ? httpsRequest : httpRequest)(req.url, {
        method: req.method,
        headers: { 'user-agent': this.options.userAgent, ...req.headers, ...(expect ? { expect: '100-continue' } : {}) },
        agent: https ? this.tlsAgent(req.verifyTls) : (this.plainAgent ??= new HttpAgent({ keepAlive: true })),
        timeout: this.options.timeoutMs,
        ...(signal ? { signal } : {}),
      });
      let response: IncomingMessage | undefined;
      let started = false;
      let sent = false;
      let waiting: NodeJS.Timeout | undefined;
      out.on('timeout', () => {
        const stalled = response !== undefined;
        const err = Object.assign(new Error(stalled ? 'the response stalled' : 'no response'), { code: stalled ? TIMEOUT_BODY : TIMEOUT_HEADERS });
        if (response) response.destroy(err);
        out.destroy(err);
      });
      out.on('error', (err) => {
        clearTimeout(waiting);
        reject(err);
      });
      out.once('finish', () => {
        sent = true;
      });
      out.on('response', (res) => {
        response = res;
        clearTimeout(waiting);
        if (!sent && ((res.statusCode ?? 0) >= 400 || !started)) {
          // The server answered before taking the whole body (a refusal, or a final answer to a
          // 100-continue): stop sending it (RFC 9112 §9.6) and close the connection once the
          // answer is read, since the request was cut short.
          started = true;
          if (body !== undefined && !Buffer.isBuffer(body)) {
            body.unpipe(out);
            body.destroy();
          }
          const close = (): void => void out.destroy();
          res.once('end', close);
          res.once('close', close);
        }
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      const send = (): void => {
        if (started) return;
        started = true;
        clearTimeout(waiting);
        if (body === undefined || Buffer.isBuffer(body)) out.end(body);
        else body.pipe(out);
      };
      if (body !== undefined && !Buffer.isBuffer(body)) {
        // A failing body (a cache blob that no longer matches its digest) fails the request with its own error.
        body.once('error', (err) => {
          reject(err);
          out.destroy(err);
        });
        out.once('close', () => body.destroy());
      }
      if (!expect) return send();
      // RFC 9110 §10.1.1: a client that sent 100-continue need not wait for it indefinitely;
      // like curl, send after a second without an answer, and stop asking that origin.
      out.once('continue', send);
      waiting = setTimeout(() => {
        this.noContinue.add(req.url.origin);
        send();
      }, CONTINUE_WAIT_MS);
    });
  }

  private tlsAgent(verifyTls: boolean): HttpsAgent {
    if (!verifyTls) {
      this.unverifiedAgent ??= new HttpsAgent({ keepAlive: true, rejectUnauthorized: false });
      return this.unverifiedAgent;
    }
    // Built on first use: reading the system bundle and any --registry-ca files costs a few ms,
    // building the context ~60 ms, which plain-HTTP registries (loopback) never pay.
    this.verifiedAgent ??= new HttpsAgent({ keepAlive: true, secureContext: trustContext(this.options.trust) });
    return this.verifiedAgent;
  }

  /** Closes the connection pools. */
  close(): Promise<void> {
    for (const a of [this.plainAgent, this.verifiedAgent, this.unverifiedAgent]) a?.destroy();
    return Promise.resolve();
  }
}

/** How long a request with `Expect: 100-continue` waits for the server before sending its body anyway. */
const CONTINUE_WAIT_MS = 1_000;
const TIMEOUT_HEADERS = 'SHALE_HTTP_NO_RESPONSE';
const TIMEOUT_BODY = 'SHALE_HTTP_STALLED';
const TEMPORARY = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EHOSTUNREACH', TIMEOUT_HEADERS, TIMEOUT_BODY]);
const TLS_TRUST = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;
/** Whether a network error means the registry's certificate is not trusted. */
export const isTlsTrustError = (err: unknown): boolean => err instanceof NetworkError && TLS_TRUST.test(err.netCode);

/** Turns a low-level error into a message that names the host and says what to do. */
export function networkError(host: string, err: unknown, peer = 'registry'): ShaleError {
  if (err instanceof ShaleError) return err;
  const trustHint =
    peer === 'registry'
      ? `give its CA with --registry-ca FILE (or SSL_CERT_FILE), or for a test registry pass --insecure-registry ${host}`
      : 'give its CA with SSL_CERT_FILE';
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') {
    return new NetworkError(`cannot reach ${peer} ${host}: connection refused; is it running?`, code, false, err);
  }
  if (code === 'ENOTFOUND') {
    return new NetworkError(`cannot reach ${peer} ${host}: host name not found; check the name and your network`, code, false, err);
  }
  if (TLS_TRUST.test(code)) {
    return new NetworkError(`cannot reach ${peer} ${host}: its TLS certificate is not trusted (${code}); ${trustHint}`, code, false, err);
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(msg)) {
    return new NetworkError(
      `cannot reach ${peer} ${host}: TLS handshake failed (it may speak plain HTTP); for a test registry pass --insecure-registry ${host}`,
      code || 'EPROTO',
      false,
      err,
    );
  }
  if (code === TIMEOUT_HEADERS || code === TIMEOUT_BODY) {
    return new NetworkError(
      `${peer} ${host} stopped answering (${code === TIMEOUT_HEADERS ? 'no response' : 'the response stalled'}; timed out)`,
      code,
      true,
      err,
    );
  }
  if (TEMPORARY.has(code)) {
    return new NetworkError(`network error talking to ${peer} ${host}: ${code} (${msg})`, code, true, err);
  }
  return new NetworkError(`network error talking to ${peer} ${host}: ${msg}`, code || 'UNKNOWN', false, err);
}

function errorCode(err: unknown): string {
  if (!err || typeof err !== 'object') return '';
  const rec = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof rec.code === 'string') return rec.code;
  // Happy-eyeballs connects (localhost → ::1 and 127.0.0.1) fail with an AggregateError.
  if (Array.isArray(rec.errors) && rec.errors.length > 0) return errorCode(rec.errors[0]);
  return rec.cause ? errorCode(rec.cause) : '';
}

/** Reads a response body as text, at most `limit` bytes (error bodies, tokens). */
export async function readText(res: HttpResponse, limit = 1 << 20): Promise<string> {
  const bytes = await readBytes(res, limit);
  return bytes.toString('utf8');
}

/**
 * Reads a response body fully; throws when it is larger than `limit` bytes. A connection that
 * fails mid-body becomes a NetworkError naming `host` (temporary when a retry may help).
 */
export async function readBytes(res: HttpResponse, limit: number, host = 'registry'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      n += b.length;
      if (n > limit) {
        res.body.destroy();
        throw new ShaleError('SHALE_REGISTRY_RESPONSE_TOO_LARGE', `registry response is larger than ${limit} bytes`);
      }
      chunks.push(b);
    }
  } catch (err) {
    throw networkError(host, err);
  }
  return Buffer.concat(chunks);
}

/** Discards a response body: read to its end (up to 64 KB) so the connection can be reused, else closed. */
export async function discard(res: HttpResponse): Promise<void> {
  let n = 0;
  try {
    for await (const chunk of res.body) {
      n += (chunk as Buffer).length;
      if (n > 1 << 16) break;
    }
  } catch {
    // nothing to keep; the connection is closed instead
  }
  if (!res.body.complete) res.body.destroy();
}

/** A header's single value (the first, when a header is repeated). */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The timeout for one stalled request: `SHALE_REGISTRY_TIMEOUT` seconds, else 120 s (registries and package indexes alike). */
export function timeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const s = Number(env['SHALE_REGISTRY_TIMEOUT']);
  return s > 0 ? s * 1000 : 120_000;
}
