import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake registry authenticates: not at all, HTTP Basic, or Bearer tokens from its own
 * /token. `identityTokens` maps OAuth2 refresh tokens to users (ACR's `az acr login`); the token
 * endpoint takes them by POST (`grant_type=refresh_token`) unless `oauthPost` says it answers 404
 * or 405 there, and by GET with Basic `user:refresh-token`.
 */
export type FakeAuth =
  | { kind: 'none' }
  | { kind: 'basic'; users: Record<string, string> }
  | {
      kind: 'bearer';
      users: Record<string, string>;
      anonymousPull?: boolean;
      identityTokens?: Record<string, string>;
      oauthPost?: 'ok' | 404 | 405;
    };

/** One request the fake registry saw. */
export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  authorization: string | undefined;
  /** The request's Content-Range (chunk uploads) and Content-Type. */
  contentRange: string | undefined;
  contentType: string | undefined;
  status: number;
}

/** One token request: how it came, the scopes asked for and the user (undefined when anonymous). */
export interface TokenRequest {
  method: 'GET' | 'POST';
  scopes: string[];
  user: string | undefined;
  /** For POST: the OAuth2 form fields other than the refresh token itself. */
  form?: { grant_type?: string; service?: string; client_id?: string };
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
  /** Send `OCI-Chunk-Min-Length` with this value when opening an upload session. */
  chunkMinLength: number | undefined;
  /** Send a wrong Docker-Content-Digest with manifests (GET and PUT answers): a registry or proxy that changed them. */
  tamperDigestHeaders = false;
  /** Each Bearer token works for this many registry requests, then gets a 401 with a fresh challenge (expired or revoked mid-push). */
  tokenLifetime: number | undefined;
  /** What tokens say about their life (`expires_in` seconds, `issued_at` this long ago); default 300 s from now. */
  tokenTtl: { expiresIn: number; issuedAgoMs: number } | undefined;
  /** Answer blob GETs with a 307 to `${redirectBlobs}/blobstore/DIGEST` (a CDN, or this registry's own origin). */
  redirectBlobs: string | undefined;
  private readonly failures: Failure[] = [];
  /** Upload sessions; `state` changes with every PATCH, as distribution's `_state`, so only the newest Location works. */
  private readonly uploads = new Map<string, { repo: string; chunks: Buffer[]; state: string }>();
  private readonly tokens = new Map<string, { granted: Set<string>; uses: number }>();
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
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: url.search,
      authorization: req.headers.authorization,
      contentRange: req.headers['content-range'],
      contentType: req.headers['content-type'],
      status: 0,
    };
    this.log.push(entry);
    const send = (status: number, headers: Record<string, string> = {}, payload?: Buffer | string): void => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(method === 'HEAD' ? undefined : payload);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}): void =>
      send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify({ errors: [{ code, message }] }));

    if (url.pathname === '/token') return this.token(req, url, body, send);
    const stored = /^\/blobstore\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (stored) {
      // The redirect target: storage that needs no registry credentials (signed URLs, in real life).
      const bytes = this.blobs.get(stored[1] ?? '');
      if (!bytes) return error(404, 'BLOB_UNKNOWN', 'no such blob in the store');
      this.bytesServed += method === 'GET' ? bytes.length : 0;
      return send(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }, bytes);
    }

    const failure = this.failures.find((f) => f.times > 0 && (!f.method || f.method === method) && f.path.test(url.pathname));
    if (failure) {
      failure.times--;
      // An injected 401 carries a fresh challenge, as a registry does when a token expired or was revoked.
      if (failure.status === 401) return this.challenge(error, /^\/v2\/(.+?)\/(?:blobs|manifests)\//.exec(url.pathname)?.[1]);
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
      if (method === 'GET' && this.redirectBlobs !== undefined) return send(307, { location: `${this.redirectBlobs}/blobstore/${d}` });
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
      return send(
        200,
        { 'content-type': stored.mediaType, 'content-length': String(stored.bytes.length), 'docker-content-digest': this.digestHeader(d) },
        stored.bytes,
      );
    }
    return error(404, 'NOT_FOUND', `no route for ${method} ${url.pathname}`);
  }

  private upload(
    method: string,
    repo: string,
    id: string,
    url: URL,
    body: Buffer,
    req: IncomingMessage,
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
      this.uploads.set(uuid, { repo, chunks: body.length ? [body] : [], state: uuid });
      this.bytesReceived += body.length;
      const headers: Record<string, string> = {
        location: location(`/v2/${repo}/blobs/uploads/${uuid}?_state=${uuid}`),
        'docker-upload-uuid': uuid,
        range: '0-0',
      };
      if (this.chunkMinLength !== undefined) headers['oci-chunk-min-length'] = String(this.chunkMinLength);
      return send(202, headers);
    }
    const session = this.uploads.get(id);
    if (!session || session.repo !== repo) return error(404, 'BLOB_UPLOAD_UNKNOWN', 'upload unknown');
    if (url.searchParams.get('_state') !== session.state) return error(400, 'BLOB_UPLOAD_INVALID', 'the _state query parameter is lost or stale');
    const stored = (): number => session.chunks.reduce((a, c) => a + c.length, 0);
    const newest = (): Record<string, string> => ({
      location: location(`/v2/${repo}/blobs/uploads/${id}?_state=${session.state}`),
      range: `0-${Math.max(0, stored() - 1)}`,
    });
    if (method === 'DELETE') {
      this.uploads.delete(id);
      return send(204);
    }
    if (method === 'GET') return send(204, newest());
    if (method === 'PATCH') {
      // distribution checks that a chunk starts where the upload stands (416 otherwise).
      const start = /^(\d+)-(\d+)$/.exec(req.headers['content-range'] ?? '')?.[1];
      if (start !== undefined && Number(start) !== stored()) return error(416, 'BLOB_UPLOAD_INVALID', 'chunk out of order');
      session.chunks.push(body);
      this.bytesReceived += body.length;
      session.state = randomUUID();
      return send(202, newest());
    }
    session.chunks.push(body);
    this.bytesReceived += body.length;
    if (method === 'PUT') {
      this.uploads.delete(id);
      return this.finish(repo, session.chunks, url.searchParams.get('digest') ?? '', send, error);
    }
    return error(405, 'UNSUPPORTED', `${method} on an upload`);
  }

  private finish(
    repo: string,
    chunks: Buffer[],
    digest: string,
    send: (s: number, h?: Record<string, string>) => void,
    error: (s: number, c: string, m: string) => void,
  ): void {
    const bytes = Buffer.concat(chunks);
    if (sha(bytes) !== digest) return error(400, 'DIGEST_INVALID', `provided digest ${digest} did not match uploaded content`);
    this.blobs.set(digest, bytes);
    this.link(repo, digest);
    send(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest });
  }

  private putManifestRoute(
    repo: string,
    ref: string,
    body: Buffer,
    req: IncomingMessage,
    send: (s: number, h?: Record<string, string>) => void,
    error: (s: number, c: string, m: string) => void,
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
    send(201, { location: `/v2/${repo}/manifests/${d}`, 'docker-content-digest': this.digestHeader(d) });
  }

  private digestHeader(d: string): string {
    return this.tamperDigestHeaders ? sha(Buffer.from(`not ${d}`)) : d;
  }

  private authorized(req: IncomingMessage, repo: string | undefined, action: 'pull' | 'push'): boolean {
    const h = req.headers.authorization ?? '';
    if (this.auth.kind === 'none') return true;
    if (this.auth.kind === 'basic') return basicUser(h, this.auth.users) !== undefined;
    const token = h.startsWith('Bearer ') ? this.tokens.get(h.slice(7)) : undefined;
    if (!token) return false;
    if (this.tokenLifetime !== undefined && ++token.uses > this.tokenLifetime) return false;
    return repo === undefined || token.granted.has(`${repo}:${action}`);
  }

  private challenge(error: (s: number, c: string, m: string, h?: Record<string, string>) => void, repo: string | undefined): void {
    const header =
      this.auth.kind === 'basic'
        ? 'Basic realm="fake-registry"'
        : `Bearer realm="http://${this.host}/token",service="fake-registry"${repo ? `,scope="repository:${repo}:pull,push"` : ''}`;
    error(401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': header });
  }

  private token(req: IncomingMessage, url: URL, body: Buffer, send: (s: number, h?: Record<string, string>, p?: string) => void): void {
    if (this.auth.kind !== 'bearer') return send(404);
    const auth = this.auth;
    const json = (status: number, payload: unknown): void => send(status, { 'content-type': 'application/json' }, JSON.stringify(payload));
    let scopes: string[];
    let user: string | undefined;
    let refused: boolean;
    let entry: TokenRequest;
    if (req.method === 'POST') {
      // OAuth2 (distribution's "Token Authentication Specification", oauth.md): a form, scopes space-separated.
      if (auth.oauthPost !== undefined && auth.oauthPost !== 'ok') return send(auth.oauthPost);
      const form = new URLSearchParams(body.toString('utf8'));
      scopes = (form.get('scope') ?? '').split(' ').filter((x) => x !== '');
      const refreshToken = form.get('refresh_token') ?? '';
      user = form.get('grant_type') === 'refresh_token' ? auth.identityTokens?.[refreshToken] : undefined;
      refused = user === undefined;
      const fields: NonNullable<TokenRequest['form']> = {};
      for (const k of ['grant_type', 'service', 'client_id'] as const) {
        const v = form.get(k);
        if (v !== null) fields[k] = v;
      }
      entry = { method: 'POST', scopes, user: user ?? '<refused>', form: fields };
    } else {
      scopes = url.searchParams.getAll('scope');
      const h = req.headers.authorization;
      user = h ? (basicUser(h, auth.users) ?? basicIdentity(h, auth.identityTokens ?? {})) : undefined;
      refused = h !== undefined && user === undefined;
      entry = { method: 'GET', scopes, user: h ? (user ?? '<refused>') : undefined };
    }
    this.tokenRequests.push(entry);
    if (refused) return json(401, { details: 'incorrect username or password' });
    const granted = new Set<string>();
    for (const s of scopes) {
      const [, repo, actions] = /^repository:(.+):([a-z,*]+)$/.exec(s) ?? [];
      if (!repo || !actions) continue;
      for (const a of actions.split(',')) {
        if (user !== undefined || (a === 'pull' && auth.anonymousPull)) granted.add(`${repo}:${a}`);
      }
    }
    const token = randomUUID();
    this.tokens.set(token, { granted, uses: 0 });
    const life = this.tokenTtl
      ? { expires_in: this.tokenTtl.expiresIn, issued_at: new Date(Date.now() - this.tokenTtl.issuedAgoMs).toISOString() }
      : { expires_in: 300 };
    // The OAuth2 endpoint answers `access_token`, the classic one `token`.
    json(200, req.method === 'POST' ? { access_token: token, ...life, scope: scopes.join(' ') } : { token, ...life });
  }
}

function basicUser(h: string, users: Record<string, string>): string | undefined {
  if (!h.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = decoded.slice(0, i);
  return i > 0 && users[user] !== undefined && users[user] === decoded.slice(i + 1) ? user : undefined;
}

/** The user a Basic header names when its password is one of that user's identity (refresh) tokens. */
function basicIdentity(h: string, identityTokens: Record<string, string>): string | undefined {
  if (!h.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = identityTokens[decoded.slice(i + 1)];
  return i > 0 && user !== undefined && user === decoded.slice(0, i) ? user : undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
