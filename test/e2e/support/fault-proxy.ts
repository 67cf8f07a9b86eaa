import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A rule: requests it matches get `status` instead of reaching the registry. */
export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
}

/** A proxy in front of a real registry that fails chosen requests and logs all of them. */
export interface FaultProxy {
  host: string;
  log: { method: string; path: string; status: number }[];
  stop(): Promise<void>;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 that forwards to `target` (host:port) except for requests a
 * fault matches, which get the fault's status and a registry-style error body.
 */
export async function startFaultProxy(target: string, faults: Fault[]): Promise<FaultProxy> {
  const [thost, tport] = target.split(':');
  const log: FaultProxy['log'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const fault = faults.find((f) => (!f.method || f.method === method) && f.path.test(path));
    if (fault) {
      req.resume();
      log.push({ method, path, status: fault.status });
      res.writeHead(fault.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected fault' }] }));
      return;
    }
    const up = request({ host: thost, port: Number(tport), method, path, headers: { ...req.headers, host: target } }, (r) => {
      log.push({ method, path, status: r.statusCode ?? 0 });
      const headers = { ...r.headers };
      // Keep Location pointing at the proxy so later requests pass through it too.
      if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${target}`, `//${proxyHost}`);
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const proxyHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host: proxyHost,
    log,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
