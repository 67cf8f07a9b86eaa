import { pipeline, type Readable } from 'node:stream';
import { InputError, ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { isDigest, sha256 } from '../oci/digest.js';
import { MediaType, type Descriptor, type Digest } from '../oci/types.js';
import { Authenticator } from './auth.js';
import { pullScope, pushScope, type Challenge } from './challenge.js';
import { CredentialStore, defaultDockerConfigPath } from './credentials.js';
import { digestMismatch } from './errors.js';
import { resumableBlob } from './download.js';
import { Http, discard, header, readBytes, timeoutFromEnv, type HttpResponse } from '../http/client.js';
import { BLOB_HINT, DEFAULT_RETRY, PUSH_HINT, budgetFromEnv, systemClock, type Clock, type RetryPolicy } from './retry.js';
import { RegistryTransport, responseError } from './transport.js';
import { BlobUploader, blobExists, sessionOf, withQuery, type UploadSession } from './upload.js';
import { registryVerifier } from './verify.js';

export { withQuery, type UploadSession };

/**
 * What a cross-repository mount did: linked the blob, or not. When the registry answered 202 it
 * opened an upload session instead (distribution spec, "Mounting a blob from another repository"):
 * pass `session` to `uploadBlob`, which uploads into it (and DELETEs it if the upload fails).
 */
export type MountResult = { mounted: true } | { mounted: false; session?: UploadSession };

/** Options for a RegistryClient. */
export interface RegistryClientOptions {
  /** Hosts (`host` or `host:port`) allowed plain HTTP and unverified TLS; loopback always is. */
  insecureRegistries?: readonly string[];
  /** Docker's config.json with credentials; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfigPath?: string;
  events?: Events;
  userAgent?: string;
  /**
   * Retries of temporary failures: each operation keeps trying for `budgetMs` from its first
   * failure since it last made progress (default `$SHALE_RETRY_BUDGET` seconds, else 60 s),
   * waiting 0.5–1 s at first, doubling up to 5–10 s, or what `Retry-After` asks.
   */
  retry?: Partial<RetryPolicy>;
  /** The clock retry waits run on; tests pass a fake one so that they never wait. */
  clock?: Clock;
  /** Extra CA certificates (PEM files) to trust, as `--registry-ca FILE`; `SSL_CERT_FILE` and the system bundle are always trusted. */
  caFiles?: readonly string[];
  /**
   * Longest wait for a response, or between two pieces of one, before a request counts as failed
   * (and is retried). Default `$SHALE_REGISTRY_TIMEOUT` seconds, else 120 s.
   */
  timeoutMs?: number;
  /** Largest upload request per registry (bytes): blobs bigger than this go up in chunks. */
  chunkBytes?: Readonly<Record<string, number>>;
  /** Cancels all registry work (Ctrl-C); abandoned uploads are DELETEd best effort. */
  signal?: AbortSignal;
  /** Where credentials come from besides config.json (`SHALE_REGISTRY_*`, `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A manifest or index as the registry stored it. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** Every manifest kind shale reads: OCI and Docker, single images and indexes. */
export const MANIFEST_ACCEPT: readonly string[] = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest];

const MAX_MANIFEST_BYTES = 4 << 20;

/**
 * A client for the OCI distribution API. Methods name the registry (`docker.io`, `127.0.0.1:5000`)
 * and repository explicitly; auth, endpoints, retries and digest checks happen inside.
 */
export class RegistryClient {
  private readonly http: Http;
  private readonly transport: RegistryTransport;
  private readonly events: Events;
  private readonly uploader: BlobUploader;

  constructor(options: RegistryClientOptions = {}) {
    this.events = options.events ?? noEvents;
    const env = options.env ?? process.env;
    const insecure = new Set(options.insecureRegistries ?? []);
    const timeoutMs = options.timeoutMs ?? timeoutFromEnv(env);
    const httpOptions: ConstructorParameters<typeof Http>[0] = {
      userAgent: options.userAgent ?? 'shale/0.1',
      timeoutMs,
      trust: { caFiles: options.caFiles ?? [], env },
    };
    if (options.signal) httpOptions.signal = options.signal;
    this.http = new Http(httpOptions);
    const credentials = new CredentialStore({ dockerConfigPath: options.dockerConfigPath ?? defaultDockerConfigPath(env), env });
    const auth = new Authenticator(this.http, credentials, insecure, this.events);
    const budgetMs = budgetFromEnv(env);
    const retry: RetryPolicy = { ...DEFAULT_RETRY, ...(budgetMs === undefined ? {} : { budgetMs }), ...options.retry };
    this.transport = new RegistryTransport(this.http, auth, insecure, this.events, retry, options.clock ?? systemClock);
    this.uploader = new BlobUploader(this.transport, this.events, options.chunkBytes ?? {});
  }

  /** GET /v2/: checks the registry answers and learns how it wants to be authenticated. */
  async ping(registry: string): Promise<Challenge> {
    const { challenge } = await this.transport.ping(registry);
    return challenge;
  }

  /**
   * Fetches a manifest or index by tag or digest. Verifies the bytes against the digest asked for,
   * and against Docker-Content-Digest when the registry sends it.
   * Throws `InputError('SHALE_MANIFEST_UNKNOWN')` when the registry has no such manifest.
   */
  async getManifest(registry: string, repository: string, reference: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<FetchedManifest> {
    const name = refName(registry, repository, reference);
    const action = `getting manifest ${name}`;
    return this.transport.retrying(action, async () => {
      const res = await this.transport.send({
        registry,
        method: 'GET',
        target: manifestPath(repository, reference),
        scopes: [pullScope(repository)],
        headers: { accept: accept.join(', ') },
        followRedirects: true,
      });
      if (res.statusCode !== 200) throw await manifestError(res, action, registry, name);
      const bytes = await readBytes(res, MAX_MANIFEST_BYTES, registry);
      const digest = sha256(bytes);
      if (isDigest(reference) && reference !== digest) throw digestMismatch(action, reference, digest);
      const claimed = header(res, 'docker-content-digest');
      if (claimed?.startsWith('sha256:') && claimed !== digest) throw digestMismatch(`${action} (Docker-Content-Digest)`, claimed, digest);
      return { bytes, digest, mediaType: contentType(res) ?? mediaTypeField(bytes) ?? MediaType.OciManifest };
    });
  }

  /** HEADs a manifest: its descriptor, or undefined when the registry does not have it. */
  async headManifest(registry: string, repository: string, reference: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<Descriptor | undefined> {
    const name = refName(registry, repository, reference);
    const action = `checking manifest ${name}`;
    const found = await this.transport.retrying(action, async () => {
      const res = await this.transport.send({
        registry,
        method: 'HEAD',
        target: manifestPath(repository, reference),
        scopes: [pullScope(repository)],
        headers: { accept: accept.join(', ') },
        followRedirects: true,
      });
      if (res.statusCode === 404) {
        await discard(res);
        return undefined;
      }
      if (res.statusCode !== 200) throw await responseError(res, action, true);
      await discard(res);
      const digest = header(res, 'docker-content-digest');
      const size = Number(header(res, 'content-length'));
      const mediaType = contentType(res);
      return digest && isDigest(digest) && Number.isFinite(size) && mediaType ? { mediaType, digest, size } : null;
    });
    if (found !== null) return found;
    // Registries need not send the digest on HEAD; then the manifest itself tells.
    const m = await this.getManifest(registry, repository, reference, accept);
    return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  }

  /**
   * Opens a blob for reading. The stream fails at its end if the bytes do not match `digest`
   * (and `size`, when given), so corrupt content is never taken for good.
   */
  async getBlob(registry: string, repository: string, digest: Digest, size?: number): Promise<Readable> {
    const what = `reading blob ${digest} from ${registry}/${repository}`;
    const get = (from: number): Promise<HttpResponse> =>
      this.transport.retrying(what, async () => {
        const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
        const r = await this.transport.send({
          registry,
          method: 'GET',
          target: blobPath(repository, digest),
          scopes: [pullScope(repository)],
          headers,
          followRedirects: true,
        });
        if (r.statusCode !== 200 && r.statusCode !== 206) throw await blobError(r, what, registry, repository, digest);
        return r;
      });
    const first = await get(0);
    // A connection that drops mid-body resumes where it stopped (Range), or restarts.
    const signal = this.transport.signal;
    const body = resumableBlob(first, get, { host: registry, budget: this.transport.budget(), events: this.events, what, ...(signal ? { signal } : {}) });
    const verifier = registryVerifier(digest, what, size);
    // pipeline destroys the verifier with the source's error, so readers see network failures too.
    pipeline(body, verifier, () => {});
    return verifier;
  }

  /** Reads a small blob (an image config) fully, verified against its digest. */
  async getBlobBytes(registry: string, repository: string, digest: Digest, maxBytes = 64 << 20): Promise<Buffer> {
    const what = `reading blob ${digest} from ${registry}/${repository}`;
    return this.transport.retrying(what, async () => {
      const res = await this.transport.send({
        registry,
        method: 'GET',
        target: blobPath(repository, digest),
        scopes: [pullScope(repository)],
        followRedirects: true,
      });
      if (res.statusCode !== 200) throw await blobError(res, what, registry, repository, digest);
      const bytes = await readBytes(res, maxBytes, registry);
      const actual = sha256(bytes);
      if (actual !== digest) throw digestMismatch(what, digest, actual);
      return bytes;
    });
  }

  /** Whether the repository has the blob (HEAD). Asks for push scope: it is the first step of a push. */
  async hasBlob(registry: string, repository: string, digest: Digest): Promise<boolean> {
    const action = `checking blob ${digest} in ${registry}/${repository}`;
    return this.transport.retrying(action, () => blobExists(this.transport, { registry, repository, digest }), { hint: BLOB_HINT });
  }

  /**
   * Asks the registry to link a blob from another repository on the same registry (cross-repo
   * mount). When it refuses the caller must upload, into the session the refusal opened if any.
   */
  async mountBlob(registry: string, repository: string, digest: Digest, fromRepository: string): Promise<MountResult> {
    const action = `mounting blob ${digest} from ${fromRepository} into ${registry}/${repository}`;
    return this.transport.retrying(
      action,
      async () => {
        const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`;
        const res = await this.transport.send({
          registry,
          method: 'POST',
          target: `${uploadsPath(repository)}${query}`,
          scopes: [pushScope(repository), pullScope(fromRepository)],
          headers: { 'content-length': '0' },
        });
        if (res.statusCode === 201) {
          await discard(res);
          return { mounted: true };
        }
        if (res.statusCode === 202) {
          // The registry opened an upload session instead (it cannot or will not mount): the upload
          // goes into it rather than into a second one opened by another POST.
          const session = sessionOf(res);
          await discard(res);
          return session ? { mounted: false, session } : { mounted: false };
        }
        const err = await responseError(res, action);
        // The source is gone or not visible to us: an upload still works.
        if (res.statusCode === 404 || err.hasCode('BLOB_UNKNOWN', 'NAME_UNKNOWN')) return { mounted: false };
        throw err;
      },
      { hint: BLOB_HINT },
    );
  }

  /**
   * Uploads a blob: one streamed PUT (POST to open the session, PUT with ?digest= to finish) up
   * to 16 MiB, PATCH chunks beyond (or beyond the `chunkBytes` limit). `open` is called again
   * when the upload must re-read the source. `session` (from a refused mount) is used instead of
   * a POST. Failures are retried within one retry budget, which each accepted chunk renews; after
   * one, the upload goes on from what its session holds, or after a HEAD (a commit whose answer
   * was lost may have landed) in a fresh session. Returns the bytes sent, resent ones included.
   */
  async uploadBlob(
    registry: string,
    repository: string,
    digest: Digest,
    size: number,
    open: () => Promise<Readable>,
    options: { onProgress?: (bytes: number) => void; session?: UploadSession } = {},
  ): Promise<number> {
    const action = `pushing blob ${digest} to ${registry}/${repository}`;
    const job = { registry, repository, digest, size, open, ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    return this.uploader.upload(job, action, this.transport.budget(), options.session);
  }

  /** Stores a manifest or index under a tag or its digest; returns its digest (verified against the registry's). */
  async putManifest(registry: string, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const digest = sha256(bytes);
    const action = `pushing manifest ${refName(registry, repository, reference)}`;
    if (isDigest(reference) && reference !== digest) {
      throw new ShaleError('SHALE_DIGEST_MISMATCH', `${action}: the manifest's bytes hash to ${digest}, not to the digest it is pushed as`);
    }
    return this.transport.retrying(
      action,
      async () => {
        const res = await this.transport.send({
          registry,
          method: 'PUT',
          target: manifestPath(repository, reference),
          scopes: [pushScope(repository)],
          headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
          body: () => bytes,
        });
        if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 204) throw await responseError(res, action);
        await discard(res);
        const claimed = header(res, 'docker-content-digest');
        if (claimed?.startsWith('sha256:') && claimed !== digest) throw digestMismatch(action, digest, claimed);
        return digest;
      },
      { hint: PUSH_HINT },
    );
  }

  /** Closes pooled connections. */
  close(): Promise<void> {
    return this.http.close();
  }
}

const manifestPath = (repository: string, reference: string): string => `/v2/${repository}/manifests/${reference}`;
const blobPath = (repository: string, digest: Digest): string => `/v2/${repository}/blobs/${digest}`;
const uploadsPath = (repository: string): string => `/v2/${repository}/blobs/uploads/`;
const refName = (registry: string, repository: string, reference: string): string => `${registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;

function contentType(res: HttpResponse): string | undefined {
  const ct = header(res, 'content-type')?.split(';')[0]?.trim();
  return ct && ct !== 'application/json' && ct !== 'text/plain' ? ct : undefined;
}

function mediaTypeField(bytes: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}

async function manifestError(res: HttpResponse, action: string, registry: string, name: string): Promise<ShaleError> {
  const err = await responseError(res, action);
  if (res.statusCode === 404 || err.hasCode('MANIFEST_UNKNOWN', 'NAME_UNKNOWN')) {
    return new InputError(
      'SHALE_MANIFEST_UNKNOWN',
      `image ${name} not found in registry ${registry}${err.errors[0] ? ` (${err.errors[0].code})` : ''}: check the repository name and the tag or digest`,
      { cause: err },
    );
  }
  return err;
}

async function blobError(res: HttpResponse, what: string, registry: string, repository: string, digest: Digest): Promise<ShaleError> {
  const err = await responseError(res, what);
  if (res.statusCode === 404 || err.hasCode('BLOB_UNKNOWN')) {
    return new ShaleError('SHALE_BLOB_UNKNOWN', `${what}: registry ${registry} has no blob ${digest} in ${repository}`, { cause: err });
  }
  return err;
}
