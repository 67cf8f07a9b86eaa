// A fault-injecting HTTP proxy in front of a real registry: what a flaky network, an overloaded
// registry or a strict reverse proxy does to a client, on demand and counted.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * What a fault does to a request it matches:
 * - `status`: answer `status` (with `retryAfter` as Retry-After) and a registry-style error body;
 * - `reset-request`: read part of the request body, then drop the connection (an upload cut mid-body);
 * - `reset-response`: forward, then drop the connection halfway through the response body;
 * - `stall`: read the request and never answer (the client's timeout must fire);
 * - `mount-202`: forward a mount POST without `mount`/`from`, so the registry opens a session (202);
 * - `too-large`: 413 for a request whose body is over `maxBody` bytes (a proxy's body limit), after reading it.
 */
export type FaultKind = 'status' | 'reset-request' | 'reset-response' | 'stall' | 'mount-202' | 'too-large';

/** A rule: requests it matches (method, path+query) get its fault instead of a clean pass-through. */
export interface Fault {
  method?: string;
  path: RegExp;
  /** Default 'status' when `status` is given. */
  kind?: FaultKind;
  status?: number;
  /** `Retry-After` for a `status` fault: seconds ("1") or an HTTP-date. */
  retryAfter?: string;
  /** For `too-large`: the largest body that passes. */
  maxBody?: number;
  /** Let this many matching requests through untouched first. Default 0. */
  skip?: number;
  /** Affect at most this many matching requests. Default: all. */
  times?: number;
}

/** One request the proxy saw, with what it did to it. */
export interface ProxyLogEntry {
  method: string;
  path: string;
  status: number;
  fault?: FaultKind;
  /** The Location the answer carried (rewritten to the proxy), e.g. the upload session a 202 opened. */
  location?: string;
  at: number;
}

/** A proxy in front of a real registry that fails chosen requests and logs all of them. */
export interface FaultProxy {
  host: string;
  log: ProxyLogEntry[];
  /** The rules in force; tests may replace them between runs. */
  faults: Fault[];
  /** Called with the count after each request arrives (the kill -9 tests stop the client at N). */
  onRequest?: ((n: number) => void) | undefined;
  stop(): Promise<void>;
}

interface Rule extends Fault {
  seen: number;
  hit: number;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 that forwards to `target` (host:port) except for requests a
 * fault matches. Location headers are rewritten to point at the proxy, so upload sessions stay on it.
 */
export async function startFaultProxy(target: string, faults: Fault[]): Promise<FaultProxy> {
  const [thost, tport] = target.split(':');
  const sockets = new Set<Socket>();
  let rules: Rule[] = faults.map((f) => ({ ...f, seen: 0, hit: 0 }));
  const proxy: FaultProxy = {
    host: '',
    log: [],
    get faults(): Fault[] {
      return rules;
    },
    set faults(f: Fault[]) {
      rules = f.map((x) => ({ ...x, seen: 0, hit: 0 }));
    },
    stop: () => new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    }),
  };

  const pick = (method: string, path: string, length: number): Rule | undefined => {
    for (const r of rules) {
      if ((r.method && r.method !== method) || !r.path.test(path)) continue;
      if (r.kind === 'too-large' && length <= (r.maxBody ?? Infinity)) continue;
      r.seen++;
      if (r.seen <= (r.skip ?? 0) || r.hit >= (r.times ?? Infinity)) continue;
      r.hit++;
      return r;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, entry: ProxyLogEntry, resetResponse: boolean): void => {
    const headers = { ...req.headers, host: target };
    const up = request({ host: thost, port: Number(tport), method: req.method, path, headers }, (r) => {
      entry.status = r.statusCode ?? 0;
      const h = { ...r.headers };
      if (typeof h.location === 'string') {
        h.location = h.location.replace(`//${target}`, `//${proxy.host}`);
        entry.location = h.location;
      }
      res.writeHead(r.statusCode ?? 502, h);
      if (!resetResponse) {
        r.pipe(res);
        return;
      }
      // Pass on about half the body, then cut the connection.
      const total = Number(r.headers['content-length'] ?? 0);
      let passed = 0;
      r.on('data', (b: Buffer) => {
        if (passed >= total / 2) return;
        res.write(b.subarray(0, Math.max(1, Math.floor(total / 2) - passed)));
        passed += b.length;
        if (passed >= total / 2) setTimeout(() => res.socket?.destroy(), 50);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const entry: ProxyLogEntry = { method, path, status: 0, at: Date.now() };
    proxy.log.push(entry);
    proxy.onRequest?.(proxy.log.length);
    const rule = pick(method, path, Number(req.headers['content-length'] ?? 0));
    const kind: FaultKind | undefined = rule ? (rule.kind ?? 'status') : undefined;
    if (kind) entry.fault = kind;
    if (!rule || !kind) return forward(req, res, path, entry, false);
    switch (kind) {
      case 'status': {
        req.resume();
        entry.status = rule.status ?? 500;
        const h: Record<string, string> = { 'content-type': 'application/json' };
        if (rule.retryAfter !== undefined) h['retry-after'] = rule.retryAfter;
        const code = entry.status === 429 ? 'TOOMANYREQUESTS' : entry.status === 416 ? 'BLOB_UPLOAD_INVALID' : 'UNAVAILABLE';
        req.on('end', () => {
          res.writeHead(entry.status, h);
          res.end(JSON.stringify({ errors: [{ code, message: 'injected fault' }] }));
        });
        return;
      }
      case 'too-large':
        req.resume();
        req.on('end', () => {
          entry.status = 413;
          res.writeHead(413, { 'content-type': 'text/html' });
          res.end('<html><body>413 Request Entity Too Large</body></html>');
        });
        return;
      case 'reset-request': {
        const limit = Math.max(1, Number(req.headers['content-length'] ?? 2) / 2);
        let got = 0;
        req.on('data', (b: Buffer) => {
          got += b.length;
          if (got >= limit) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
      case 'stall':
        req.resume();
        return;
      case 'mount-202': {
        const u = new URL(path, 'http://x');
        u.searchParams.delete('mount');
        u.searchParams.delete('from');
        return forward(req, res, `${u.pathname}${u.search}`, entry, false);
      }
      case 'reset-response':
        return forward(req, res, path, entry, true);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
