/**
 * The little HTTP shale's Python side needs: GET a page, download a file (or part of one), HEAD
 * a file for its size. Credentials in a URL (https://user:token@host/simple) become a Basic
 * Authorization header; without them, `.netrc` may supply them for the host. Redirects are
 * followed (credentials stay on their host); 429/502/503/504 are retried twice.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { discard, Http } from '../registry/http.js';
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
  /** The body as a Node stream; read it, or `cancel()`. */
  body: Readable;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  cancel(): Promise<void>;
}

/**
 * GETs a URL. Network failures are runtime errors naming the URL; the caller reads the status.
 * `extra` adds request headers (a `Range` for reading part of a wheel); they never replace the
 * credentials' Authorization header.
 */
export function httpGet(url: string, accept: string, authFrom?: string, extra?: Record<string, string>): Promise<HttpResponse> {
  return httpRequest('GET', url, accept, authFrom, extra);
}

/** HEADs a URL (to learn a file's size without downloading it); errors as for {@link httpGet}. */
export function httpHead(url: string, authFrom?: string): Promise<HttpResponse> {
  return httpRequest('HEAD', url, '*/*', authFrom);
}

// Node's own client (the registry's): keep-alive, a timeout for a server that stops answering
// (SHALE_REGISTRY_TIMEOUT, else 120 s), SSL_CERT_FILE honoured; global fetch would load undici
// (~70 ms and a WebAssembly parser) and has no such timeout.
let client: Http | undefined;
function http(): Http {
  const env = Number(process.env['SHALE_REGISTRY_TIMEOUT']);
  client ??= new Http({ userAgent: 'shale', peer: 'package index', timeoutMs: env > 0 ? env * 1000 : 120_000 });
  return client;
}

const MAX_REDIRECTS = 5;
const RETRIES = 3;
const retryable = (status: number): boolean => status === 429 || status === 502 || status === 503 || status === 504;

function wrap(res: { statusCode: number; headers: IncomingHttpHeaders; body: IncomingMessage }, url: string): HttpResponse {
  const bytes = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const chunk of res.body) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
  return {
    status: res.statusCode,
    ok: res.statusCode >= 200 && res.statusCode < 300,
    statusText: res.body.statusMessage ?? '',
    url,
    headers: { get: (name) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
    body: res.body,
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => { const b = await bytes(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; },
    cancel: async () => { res.body.destroy(); },
  };
}

async function httpRequest(method: 'GET' | 'HEAD', url: string, accept: string, authFrom?: string, extra: Record<string, string> = {}): Promise<HttpResponse> {
  const plain = splitCredentials(url);
  // A file URL on the index's host gets the index's credentials, as pip does.
  let headers = plain.headers;
  if (authFrom && !Object.keys(headers).length) {
    const idx = splitCredentials(authFrom);
    if (new URL(idx.url).host === new URL(plain.url).host) headers = idx.headers;
  }
  if (!Object.keys(headers).length) {
    const netrc = netrcCredentials(new URL(plain.url).host);
    if (netrc) headers = { authorization: `Basic ${Buffer.from(`${netrc.login}:${netrc.password}`).toString('base64')}` };
  }
  let target = new URL(plain.url);
  const origin = target.host;
  try {
    for (let hop = 0, attempt = 0; ; ) {
      // Credentials never follow a redirect to another host.
      const auth = target.host === origin ? headers : {};
      const res = await http().send({ method, url: target, headers: { accept, ...extra, ...auth }, verifyTls: true });
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && location && hop < MAX_REDIRECTS) {
        await discard(res);
        target = new URL(location, target);
        hop++;
        continue;
      }
      if (retryable(res.statusCode) && attempt < RETRIES - 1) {
        await discard(res);
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt++));
        continue;
      }
      return wrap(res, target.toString());
    }
  } catch (err) {
    const why = err instanceof Error ? ` (${err.message})` : '';
    throw new ShaleError('SHALE_NETWORK', `cannot ${method} ${redact(url)}${why}; check the URL and the network, or use find-links with a local directory`, { cause: err });
  }
}
