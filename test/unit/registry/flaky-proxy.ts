// An in-process HTTP proxy in front of the fake registry whose every answer a test scripts: pass,
// an error status, a body cut mid-way, a commit whose answer is lost. It counts the request body
// bytes it reads and, like a server, answers a refused `Expect: 100-continue` request without
// taking its body (RFC 9110 §10.1.1).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does with one request. */
export type Verdict =
  | 'pass'
  /** Answer this status (and `Retry-After`), after reading the body unless the client asked 100-continue. */
  | { status: number; retryAfter?: string }
  /** Read half the body, then drop the connection; the registry sees nothing. */
  | 'cut'
  /** Forward the whole request, then drop the connection instead of passing the answer on. */
  | 'lose-answer';

/** One request the proxy saw. */
export interface FlakyEntry {
  method: string;
  path: string;
  /** What happened: 'pass', the status answered, 'cut' or 'lose-answer'. */
  verdict: string;
  status: number;
  /** Request body bytes the proxy read. */
  bodyBytes: number;
  contentRange: string | undefined;
}

export interface FlakyProxy {
  host: string;
  log: FlakyEntry[];
  /** Body bytes of PATCH and PUT requests on upload sessions. */
  uploadBytes(): number;
  stop(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 in front of `target` (host:port); `decide` picks each request's fate (`length`: its Content-Length). */
export async function startFlakyProxy(
  target: string,
  decide: (req: { method: string; path: string; n: number; length: number }) => Verdict,
): Promise<FlakyProxy> {
  const [host, port] = target.split(':');
  const log: FlakyEntry[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse, expecting: boolean): void => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const entry: FlakyEntry = { method, path, verdict: 'pass', status: 0, bodyBytes: 0, contentRange: req.headers['content-range'] };
    log.push(entry);
    req.on('data', (b: Buffer) => {
      entry.bodyBytes += b.length;
    });
    const v = decide({ method, path, n: log.length, length: Number(req.headers['content-length'] ?? 0) });
    if (typeof v === 'object') {
      entry.verdict = String(v.status);
      entry.status = v.status;
      const answer = (): void => {
        const h: Record<string, string> = { 'content-type': 'application/json', ...(v.retryAfter ? { 'retry-after': v.retryAfter } : {}) };
        if (expecting) h['connection'] = 'close';
        res.writeHead(v.status, h);
        res.end(JSON.stringify({ errors: [{ code: v.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'scripted' }] }));
      };
      if (expecting) return answer();
      req.resume();
      req.on('end', answer);
      return;
    }
    if (expecting) res.writeContinue();
    if (v === 'cut') {
      entry.verdict = 'cut';
      const half = Math.max(1, Number(req.headers['content-length'] ?? 2) / 2);
      req.on('data', () => {
        if (entry.bodyBytes >= half) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    const headers = { ...req.headers, host: target };
    delete headers['expect'];
    const up = request({ host, port: Number(port), method, path, headers }, (r) => {
      entry.status = r.statusCode ?? 0;
      if (v === 'lose-answer') {
        entry.verdict = 'lose-answer';
        r.resume();
        r.on('end', () => res.socket?.destroy());
        return;
      }
      const h = { ...r.headers };
      if (typeof h.location === 'string') h.location = h.location.replace(`//${target}`, `//${proxy.host}`);
      res.writeHead(r.statusCode ?? 502, h);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server = createServer((req, res) => handle(req, res, false));
  server.on('checkContinue', (req, res) => handle(req, res, true));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const proxy: FlakyProxy = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    uploadBytes: () =>
      log.filter((e) => (e.method === 'PATCH' || e.method === 'PUT') && e.path.includes('/blobs/uploads/')).reduce((a, e) => a + e.bodyBytes, 0),
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
  return proxy;
}
