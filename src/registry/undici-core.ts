// undici's Agent and request(), without the rest of the package. `import 'undici'` loads and sets up
// all of it (fetch, WebSocket, cookies, mocks, caches, interceptors): about 50 ms that every
// command, and a no-op rebuild most of all, paid at start-up. These two modules are all we use.
import type { Dispatcher } from 'undici';
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import requestImpl from 'undici/lib/api/api-request.js';

export const Agent = AgentImpl;
export type Agent = InstanceType<typeof AgentImpl>;

/** Sends one request through `dispatcher` (what `undici.request(url, { dispatcher })` does). */
export function request(url: URL, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = opts;
  return requestImpl.call(dispatcher, { ...rest, origin: url.origin, path: `${url.pathname}${url.search}` });
}
