import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake registry authenticates: not at all, HTTP Basic, or Bearer tokens from its own /token. */
export type FakeAuth =
  | { kind: 'none' }
  | { kind: 'basic'; users: Record<string, string> }
  | { kind: 'bearer'; users: Record<string, string>; anonymousPull?: boolean };

/** One request the fake registry saw. */
export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  authorization: string | undefined;
  status: number;
}

/** One token request: the scopes asked for and the user (undefined when anonymous). */
export interface TokenRequest {
  scopes: string[];
  user: string | undefined;
}

interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
}

interface Failure {
  method: string | undefined;
  path: RegExp;
  status: number;
  times: number;
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * A small in-process OCI distribution registry for unit tests: /v2/, blobs, uploads (POST, PATCH,
 * PUT, mount), manifests by tag and digest, optional Basic or Bearer auth, a request log, byte
 * counters, failure injection and switches for misbehaviour (refused mounts, tampered content).
 */
export class FakeRegistry {
  /** `127.0.0.1:PORT`, the registry name to give the client. */
  host = '';
  readonly log: LoggedRequest[] = [];
  readonly tokenRequests: TokenRequest[] = [];
  /** Blob content by digest (shared storage); tests may overwrite entries to serve wrong bytes. */
  readonly blobs = new Map<string, Buffer>();
  /** Which digests each repository links. */
  readonly repoBlobs = new Map<string, Set<string>>();
  /** Manifests by repository, then digest; tests may overwrite bytes to serve wrong content. */
  readonly manifests = new Map<string, Map<string, StoredManifest>>();
  /** Tags by repository: tag → digest. */
  readonly tags = new Map<string, Map<string, string>>();
  /** Blob bytes received by uploads, and served by blob GETs. */
  bytesReceived = 0;
  bytesServed = 0;
  /** Answer mounts with 202 (open an upload session) instead of linking the blob. */
  refuseMounts = false;
  /** Give upload Locations as absolute URLs instead of paths. */
  absoluteLocations = false;
  private readonly failures: Failure[] = [];
  private readonly uploads = new Map<string, { repo: string; chunks: Buffer[] }>();
  private readonly tokens = new Map<string, Set<string>>();
  private readonly server: Server;

  private constructor(private readonly auth: FakeAuth) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  }

  /** Starts a fake registry on 127.0.0.1 and a random port. */
  static async start(auth: FakeAuth = { kind: 'none' }): Promise<FakeRegistry> {
    const r = new FakeRegistry(auth);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.host = `127.0.0.1:${(r.server.address() as AddressInfo).port}`;
    return r;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Makes the next `times` requests matching method and path fail with `status`. */
  fail(method: string | undefined, path: RegExp, status: number, times = 1): void {
    this.failures.push({ method, path, status, times });
  }

  /** Stores a blob in a repository directly; returns its digest. */
  putBlob(repo: string, bytes: Buffer): string {
    const d = sha(bytes);
    this.blobs.set(d, bytes);
    this.link(repo, d);
    return d;
  }

  /** Stores a manifest directly under its digest and, if given, a tag; returns its digest. */
  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): string {
    const d = sha(bytes);
    this.repoManifests(repo).set(d, { bytes, mediaType });
    if (tag !== undefined) this.repoTags(repo).set(tag, d);
    return d;
  }

  /** Requests whose method matches and whose path matches the pattern, in order. */
  requests(method: string, path?: RegExp): LoggedRequest[] {
    return this.log.filter((r) => r.method === method && (!path || path.test(r.path)));
  }

  private link(repo: string, d: string): void {
    const set = this.repoBlobs.get(repo) ?? new Set<string>();
    set.add(d);
    this.repoBlobs.set(repo, set);
  }
  private repoManifests(repo: string): Map<string, StoredManifest> {
    const m = this.manifests.get(repo) ?? new Map<string, StoredManifest>();
    this.manifests.set(repo, m);
    return m;
  }
  private repoTags(repo: string): Map<string, string> {
    const m = this.tags.get(repo) ?? new Map<string, string>();
    this.tags.set(repo, m);
    return m;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const entry: LoggedRequest = { method, path: url.pathname, query: url.search, authorization: req.headers.authorization, status: 0 };
    this.log.push(entry);
    const send = (status: number, headers: Record<string, string> = {}, payload?: Buffer | string): void => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(method === 'HEAD' ? undefined : payload);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}): void =>
      send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify({ errors: [{ code, message }] }));

    if (url.pathname === '/token') return this.token(req, url, send);

    const failure = this.failures.find((f) => f.times > 0 && (!f.method || f.method === method) && f.path.test(url.pathname));
    if (failure) {
      failure.times--;
      return error(failure.status, failure.status === 429 ? 'TOOMANYREQUESTS' : failure.status >= 500 ? 'UNAVAILABLE' : 'INJECTED', 'injected failure');
    }

    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      if (!this.authorized(req, undefined, 'pull')) return this.challenge(error, undefined);
      return send(200, { 'content-type': 'application/json' }, '{}');
    }

    let m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (m) {
      const repo = m[1] ?? '';
      if (!this.authorized(req, repo, 'push')) return this.challenge(error, repo);
      return this.upload(method, repo, m[2] ?? '', url, body, req, send, error);
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (m) {
      const repo = m[1] ?? '';
      const d = m[2] ?? '';
      if (!this.authorized(req, repo, method === 'DELETE' ? 'push' : 'pull')) return this.challenge(error, repo);
      const bytes = this.blobs.get(d);
      if (!bytes || !this.repoBlobs.get(repo)?.has(d)) return error(404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      if (method === 'GET') this.bytesServed += bytes.length;
      return send(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'docker-content-digest': d }, bytes);
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const repo = m[1] ?? '';
      const ref = m[2] ?? '';
      if (!this.authorized(req, repo, method === 'PUT' ? 'push' : 'pull')) return this.challenge(error, repo);
      if (method === 'PUT') return this.putManifestRoute(repo, ref, body, req, send, error);
      const d = ref.startsWith('sha256:') ? ref : this.tags.get(repo)?.get(ref);
      const stored = d ? this.manifests.get(repo)?.get(d) : undefined;
      if (!d || !stored) return error(404, 'MANIFEST_UNKNOWN', `manifest unknown: ${ref}`);
      return send(200, { 'content-type': stored.mediaType, 'content-length': String(stored.bytes.length), 'docker-content-digest': d }, stored.bytes);
    }
    return error(404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
  }

  private upload(
    method: string, repo: string, id: string, url: URL, body: Buffer, req: IncomingMessage,
    send: (s: number, h?: Record<string, string>, p?: Buffer | string) => void,
    error: (s: number, c: string, m: string) => void,
  ): void {
    const location = (path: string): string => (this.absoluteLocations ? `http://${this.host}${path}` : path);
    if (method === 'POST' && id === '') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from && !this.refuseMounts && this.repoBlobs.get(from)?.has(mount) && this.authorized(req, from, 'pull')) {
        this.link(repo, mount);
        return send(201, { location: location(`/v2/${repo}/blobs/${mount}`), 'docker-content-digest': mount });
      }
      const digest = url.searchParams.get('digest');
      if (digest) return this.finish(repo, [body], digest, send, error);
      const uuid = randomUUID();
      this.uploads.set(uuid, { repo, chunks: body.length ? [body] : [] });
      this.bytesReceived += body.length;
      return send(202, { location: location(`/v2/${repo}/blobs/uploads/${uuid}?_state=${uuid}`), 'docker-upload-uuid': uuid, range: '0-0' });
    }
    const session = this.uploads.get(id);
    if (!session || session.repo !== repo) return error(404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown');
    if (url.searchParams.get('_state') !== id) return error(400, 'BLOB_UPLOAD_INVALID', 'the _state query parameter was lost');
    if (method === 'DELETE') {
      this.uploads.delete(id);
      return send(204);
    }
    session.chunks.push(body);
    this.bytesReceived += body.length;
    if (method === 'PATCH') {
      const n = session.chunks.reduce((a, c) => a + c.length, 0);
      return send(202, { location: location(`/v2/${repo}/blobs/uploads/${id}?_state=${id}`), range: `0-${Math.max(0, n - 1)}` });
    }
    if (method === 'PUT') {
      this.uploads.delete(id);
      return this.finish(repo, session.chunks, url.searchParams.get('digest') ?? '', send, error);
    }
    return error(405, 'UNSUPPORTED', `${method} on an upload`);
  }

  private finish(
    repo: string, chunks: Buffer[], digest: string,
    send: (s: number, h?: Record<string, string>) => void, error: (s: number, c: string, m: string) => void,
  ): void {
    const bytes = Buffer.concat(chunks);
    if (sha(bytes) !== digest) return error(400, 'DIGEST_INVALID', `provided digest ${digest} did not match uploaded content`);
    this.blobs.set(digest, bytes);
    this.link(repo, digest);
    send(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest });
  }

  private putManifestRoute(
    repo: string, ref: string, body: Buffer, req: IncomingMessage,
    send: (s: number, h?: Record<string, string>) => void, error: (s: number, c: string, m: string) => void,
  ): void {
    const d = sha(body);
    if (ref.startsWith('sha256:') && ref !== d) return error(400, 'DIGEST_INVALID', 'manifest digest did not match');
    // Like distribution: every blob and child manifest a manifest names must already be there.
    const parsed = JSON.parse(body.toString('utf8')) as { config?: { digest: string }; layers?: { digest: string }[]; manifests?: { digest: string }[] };
    for (const b of [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])]) {
      if (!this.repoBlobs.get(repo)?.has(b.digest)) return error(400, 'MANIFEST_BLOB_UNKNOWN', `blob unknown: ${b.digest}`);
    }
    for (const c of parsed.manifests ?? []) {
      if (!this.manifests.get(repo)?.has(c.digest)) return error(400, 'MANIFEST_UNKNOWN', `manifest unknown: ${c.digest}`);
    }
    this.putManifest(repo, body, req.headers['content-type'] ?? 'application/octet-stream', ref.startsWith('sha256:') ? undefined : ref);
    send(201, { location: `/v2/${repo}/manifests/${d}`, 'docker-content-digest': d });
  }

  private authorized(req: IncomingMessage, repo: string | undefined, action: 'pull' | 'push'): boolean {
    const h = req.headers.authorization ?? '';
    if (this.auth.kind === 'none') return true;
    if (this.auth.kind === 'basic') return basicUser(h, this.auth.users) !== undefined;
    const granted = h.startsWith('Bearer ') ? this.tokens.get(h.slice(7)) : undefined;
    if (!granted) return false;
    return repo === undefined || granted.has(`${repo}:${action}`);
  }

  private challenge(error: (s: number, c: string, m: string, h?: Record<string, string>) => void, repo: string | undefined): void {
    const header = this.auth.kind === 'basic'
      ? 'Basic realm="fake-registry"'
      : `Bearer realm="http://${this.host}/token",service="fake-registry"${repo ? `,scope="repository:${repo}:pull,push"` : ''}`;
    error(401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': header });
  }

  private token(req: IncomingMessage, url: URL, send: (s: number, h?: Record<string, string>, p?: string) => void): void {
    if (this.auth.kind !== 'bearer') return send(404);
    const scopes = url.searchParams.getAll('scope');
    const h = req.headers.authorization;
    const user = h ? basicUser(h, this.auth.users) : undefined;
    this.tokenRequests.push({ scopes, user: h ? (user ?? '<refused>') : undefined });
    if (h && user === undefined) return send(401, { 'content-type': 'application/json' }, '{"details":"incorrect username or password"}');
    const granted = new Set<string>();
    for (const s of scopes) {
      const [, repo, actions] = /^repository:(.+):([a-z,*]+)$/.exec(s) ?? [];
      if (!repo || !actions) continue;
      for (const a of actions.split(',')) {
        if (user !== undefined || (a === 'pull' && this.auth.anonymousPull)) granted.add(`${repo}:${a}`);
      }
    }
    const token = randomUUID();
    this.tokens.set(token, granted);
    send(200, { 'content-type': 'application/json' }, JSON.stringify({ token, expires_in: 300 }));
  }
}

function basicUser(h: string, users: Record<string, string>): string | undefined {
  if (!h.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = decoded.slice(0, i);
  return i > 0 && users[user] !== undefined && users[user] === decoded.slice(i + 1) ? user : undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
