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
 * - `reset-forwarded`: forward the request, and drop both connections once half its body has gone
 *   through (the registry receives part of it: distribution then drops the upload session);
 * - `mount-202`: forward a mount POST without `mount`/`from`, so the registry opens a session (202);
 * - `too-large`: 413 for a request whose body is over `maxBody` bytes (a proxy's body limit), after reading it;
 * - `outage`: from this request on, answer every request `status` (default 503) for `durationMs`,
 *   and cut the connections of requests in flight (a registry restarting, a load balancer failing over).
 *
 * A request that asks `Expect: 100-continue` gets a `status`, `outage` or `too-large` answer
 * before its body is sent, as servers answer such requests (RFC 9110 §10.1.1); otherwise the
 * proxy reads the body first.
 */
export type FaultKind = 'status' | 'reset-request' | 'reset-response' | 'reset-forwarded' | 'stall' | 'mount-202' | 'too-large' | 'outage';

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
  /**
   * Affect every n-th matching request (after `skip`). Such a rule counts every request it
   * matches, also those an earlier rule took, so `500 every 4th, reset every 6th` means what it
   * says (the earlier rule wins where both fall).
   */
  every?: number;
  /** For `outage`: how long it lasts. */
  durationMs?: number;
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
  /** Bytes of the request's body the proxy read (what the client managed to send). */
  bodyBytes: number;
}

/** A proxy in front of a real registry that fails chosen requests and logs all of them. */
export interface FaultProxy {
  host: string;
  log: ProxyLogEntry[];
  /** The rules in force; tests may replace them between runs. */
  faults: Fault[];
  /** Called with the count after each request arrives (the kill -9 tests stop the client at N). */
  onRequest?: ((n: number) => void) | undefined;
  /** Body bytes of the PATCH and PUT requests on upload sessions: what the client sent of blobs, resent bytes included. */
  uploadBytes(): number;
  stop(): Promise<void>;
}

/**
 * The fault mix of the issue "CI at scale", on upload requests (`/blobs/uploads/`): 500 on every
 * 4th, a connection reset mid-body on every 6th, 429 on every 9th.
 */
export const FAULT_MIX: readonly Fault[] = [
  { path: /\/blobs\/uploads\//, status: 500, every: 4 },
  { path: /\/blobs\/uploads\//, kind: 'reset-request', every: 6 },
  { path: /\/blobs\/uploads\//, status: 429, every: 9 },
];

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
  /** While an outage lasts: when it ends, and what every request gets. */
  let down: { until: number; status: number } | undefined;
  const proxy: FaultProxy = {
    host: '',
    log: [],
    get faults(): Fault[] {
      return rules;
    },
    set faults(f: Fault[]) {
      rules = f.map((x) => ({ ...x, seen: 0, hit: 0 }));
    },
    uploadBytes: () =>
      proxy.log.filter((e) => (e.method === 'PATCH' || e.method === 'PUT') && e.path.includes('/blobs/uploads/')).reduce((a, e) => a + e.bodyBytes, 0),
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };

  const matches = (r: Rule, method: string, path: string): boolean => (!r.method || r.method === method) && r.path.test(path);
  const pick = (method: string, path: string, length: number): Rule | undefined => {
    for (const r of rules) if (r.every && matches(r, method, path)) r.seen++;
    for (const r of rules) {
      if (!matches(r, method, path)) continue;
      if (r.kind === 'too-large' && length <= (r.maxBody ?? Infinity)) continue;
      if (!r.every) r.seen++;
      if (r.seen <= (r.skip ?? 0) || r.hit >= (r.times ?? Infinity)) continue;
      if (r.every && (r.seen - (r.skip ?? 0)) % r.every !== 0) continue;
      r.hit++;
      return r;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, entry: ProxyLogEntry, resetResponse: boolean, cutRequest = false): void => {
    const headers = { ...req.headers, host: target };
    // The proxy answered the client's 100-continue itself; the registry gets a plain request.
    delete headers['expect'];
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
    if (cutRequest) {
      const half = Math.max(1, Number(req.headers['content-length'] ?? 2) / 2);
      req.on('data', () => {
        if (entry.bodyBytes < half) return;
        up.destroy();
        req.socket.destroy();
      });
    }
    req.pipe(up);
  };

  /** Answers `status` with a registry-style error body: at once to a 100-continue request, else after reading the body. */
  const refuse = (req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, status: number, expecting: boolean, retryAfter?: string): void => {
    entry.status = status;
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (retryAfter !== undefined) h['retry-after'] = retryAfter;
    // The body a 100-continue request holds back never comes: this connection cannot carry another request.
    if (expecting) h['connection'] = 'close';
    const code = status === 429 ? 'TOOMANYREQUESTS' : status === 416 ? 'BLOB_UPLOAD_INVALID' : 'UNAVAILABLE';
    const answer = (): void => {
      res.writeHead(status, h);
      res.end(JSON.stringify({ errors: [{ code, message: 'injected fault' }] }));
    };
    if (expecting) return answer();
    req.resume();
    req.on('end', answer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expecting: boolean): void => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const entry: ProxyLogEntry = { method, path, status: 0, at: Date.now(), bodyBytes: 0 };
    proxy.log.push(entry);
    proxy.onRequest?.(proxy.log.length);
    req.on('data', (b: Buffer) => {
      entry.bodyBytes += b.length;
    });
    if (down && Date.now() >= down.until) down = undefined;
    if (down) {
      entry.fault = 'outage';
      return refuse(req, res, entry, down.status, expecting);
    }
    const rule = pick(method, path, Number(req.headers['content-length'] ?? 0));
    const kind: FaultKind | undefined = rule ? (rule.kind ?? 'status') : undefined;
    if (kind) entry.fault = kind;
    if (rule && kind === 'status') return refuse(req, res, entry, rule.status ?? 500, expecting, rule.retryAfter);
    if (rule && kind === 'outage') {
      down = { until: Date.now() + (rule.durationMs ?? 30_000), status: rule.status ?? 503 };
      // Requests in flight die with the registry they were talking to.
      for (const s of sockets) if (s !== req.socket) s.destroy();
      return refuse(req, res, entry, down.status, expecting);
    }
    if (rule && kind === 'too-large' && expecting) {
      entry.status = 413;
      res.writeHead(413, { 'content-type': 'text/html', connection: 'close' });
      res.end('<html><body>413 Request Entity Too Large</body></html>');
      return;
    }
    if (expecting) res.writeContinue();
    if (!rule || !kind) return forward(req, res, path, entry, false);
    switch (kind) {
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
        req.on('data', () => {
          if (entry.bodyBytes >= limit) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
      case 'reset-forwarded':
        return forward(req, res, path, entry, false, true);
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
  };
  const server: Server = createServer((req: IncomingMessage, res) => handle(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
