import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { ShaleError } from '../errors.js';

/** HTTP methods the distribution API uses. */
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP request. `verifyTls: false` only for hosts the user listed as insecure. */
export interface HttpRequest {
  method: Method;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  verifyTls: boolean;
}

/** undici's response: status, headers and a body that must be consumed or dumped. */
export type HttpResponse = Dispatcher.ResponseData;

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
 * The ways to try reaching a registry, in order. Loopback hosts speak plain HTTP; hosts the user
 * listed as insecure get HTTPS without certificate checks first, then plain HTTP; everything else
 * gets verified HTTPS only (SPEC.md, `--insecure-registry`).
 */
export function endpointCandidates(host: string, insecure: ReadonlySet<string>): Endpoint[] {
  if (insecure.has(host) || insecure.has(hostName(host))) {
    return [{ origin: `https://${host}`, verifyTls: false }, { origin: `http://${host}`, verifyTls: true }];
  }
  if (isLoopbackHost(host)) return [{ origin: `http://${host}`, verifyTls: true }];
  return [{ origin: `https://${host}`, verifyTls: true }];
}

/** Whether an origin may receive credentials: HTTPS anywhere, plain HTTP only on loopback or insecure hosts. */
export function mayCarryCredentials(url: URL, insecure: ReadonlySet<string>): boolean {
  return url.protocol === 'https:' || isLoopbackHost(url.host) || insecure.has(url.host) || insecure.has(url.hostname);
}

/** Sends HTTP requests through undici; owns the connection pools. */
export class Http {
  private readonly verified = new Agent({ connect: { timeout: 30_000 } });
  private readonly unverified = new Agent({ connect: { timeout: 30_000, rejectUnauthorized: false } });
  constructor(private readonly userAgent: string) {}

  /** Sends one request (no retries, no redirects). Network failures become `NetworkError`. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    try {
      return await request(req.url, {
        method: req.method,
        headers: { 'user-agent': this.userAgent, ...req.headers },
        body: req.body ?? null,
        dispatcher: req.verifyTls ? this.verified : this.unverified,
      });
    } catch (err) {
      throw networkError(req.url.host, err);
    }
  }

  /** Closes the connection pools (once; later calls wait for the same close). */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.verified.close(), this.unverified.close()]).then(() => undefined);
    return this.closing;
  }
  private closing: Promise<void> | undefined;
}

const TEMPORARY = new Set([
  'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);
const TLS_TRUST = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** Turns a low-level error into a message that names the host and says what to do. */
export function networkError(host: string, err: unknown): ShaleError {
  if (err instanceof ShaleError) return err;
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ECONNREFUSED') {
    return new NetworkError(`cannot reach registry ${host}: connection refused; is it running?`, code, false, err);
  }
  if (code === 'ENOTFOUND') {
    return new NetworkError(`cannot reach registry ${host}: host name not found; check the name and your network`, code, false, err);
  }
  if (TLS_TRUST.test(code)) {
    return new NetworkError(
      `cannot reach registry ${host}: its TLS certificate is not trusted (${code}); fix the certificate, or for a test registry pass --insecure-registry ${host}`,
      code, false, err,
    );
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(msg)) {
    return new NetworkError(
      `cannot reach registry ${host}: TLS handshake failed (it may speak plain HTTP); for a test registry pass --insecure-registry ${host}`,
      code || 'EPROTO', false, err,
    );
  }
  if (TEMPORARY.has(code)) {
    return new NetworkError(`network error talking to registry ${host}: ${code} (${msg})`, code, true, err);
  }
  return new NetworkError(`network error talking to registry ${host}: ${msg}`, code || 'UNKNOWN', false, err);
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

/** Reads a response body fully; throws when it is larger than `limit` bytes. */
export async function readBytes(res: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    n += b.length;
    if (n > limit) {
      res.body.destroy();
      throw new ShaleError('SHALE_REGISTRY_RESPONSE_TOO_LARGE', `registry response is larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Discards a response body so its connection can be reused. */
export async function discard(res: HttpResponse): Promise<void> {
  try {
    await res.body.dump({ limit: 1 << 16 });
  } catch {
    // nothing to keep; the connection will be closed instead
  }
}

/** A header's single value (undici gives arrays for repeated headers). */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
