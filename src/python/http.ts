/**
 * The little HTTP shale's Python side needs: GET a page, download a file, HEAD a file for its size. Credentials in a URL
 * (https://user:token@host/simple) become a Basic Authorization header, since fetch refuses them;
 * without them, `.netrc` may supply them for the host.
 */
import { ShaleError } from '../errors.js';
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

/**
 * GETs a URL. Network failures are runtime errors naming the URL; the caller reads the status.
 * `extra` adds request headers (a `Range` for reading part of a wheel); they never replace the
 * credentials' Authorization header.
 */
export function httpGet(url: string, accept: string, authFrom?: string, extra?: Record<string, string>): Promise<Response> {
  return httpRequest('GET', url, accept, authFrom, extra);
}

/** HEADs a URL (to learn a file's size without downloading it); errors as for {@link httpGet}. */
export function httpHead(url: string, authFrom?: string): Promise<Response> {
  return httpRequest('HEAD', url, '*/*', authFrom);
}

async function httpRequest(method: 'GET' | 'HEAD', url: string, accept: string, authFrom?: string, extra: Record<string, string> = {}): Promise<Response> {
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
  try {
    return await fetch(plain.url, { method, headers: { accept, 'user-agent': 'shale', ...extra, ...headers }, redirect: 'follow' });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new ShaleError('SHALE_NETWORK', `cannot ${method} ${redact(url)}${cause}; check the URL and the network (or use find-links with a local directory)`, { cause: err });
  }
}
