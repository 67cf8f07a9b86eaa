import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Digest } from '../oci/types.js';
import { pushScope } from './challenge.js';
import { ChunkSource } from './chunk-source.js';
import { InterruptedError, digestMismatch } from './errors.js';
import { discard, header, type HttpResponse } from './http.js';
import { isTemporary, retryDelay, type RetryPolicy } from './retry.js';
import { responseError, type RegistryTransport } from './transport.js';
import { CountingStream } from './verify.js';

/** The chunk size shale falls back to when a registry refuses a whole blob in one request (413). */
export const DEFAULT_CHUNK_BYTES = 8 << 20;
const MIN_CHUNK_BYTES = 256 << 10;

/** An upload session the registry opened (its Location), e.g. in answer to a refused mount (202). */
export interface UploadSession {
  location: string;
  /** `OCI-Chunk-Min-Length`: the smallest chunk the registry takes; 0 when it did not say. */
  minChunk: number;
}

/** One blob to upload, and where. */
export interface UploadJob {
  registry: string;
  repository: string;
  digest: Digest;
  size: number;
  /** Opens the blob's bytes from the start; called again for each fresh attempt. */
  open: () => Promise<Readable>;
  onProgress?: (bytes: number) => void;
}

/**
 * Uploads blobs (distribution spec, "Pushing blobs"): one streamed PUT by default; PATCH chunks
 * with inclusive `Content-Range` when the registry has a chunk size limit (configured, or learnt
 * from a 413), resuming after 416 or a dropped connection from the offset the upload's status
 * (GET on its Location, `Range` header) reports. Each chunk request uses the newest `Location`.
 */
export class BlobUploader {
  private readonly chunkBytes = new Map<string, number>();
  constructor(
    private readonly transport: RegistryTransport,
    private readonly events: Events,
    private readonly retry: RetryPolicy,
    chunkBytes: Readonly<Record<string, number>>,
  ) {
    for (const [registry, n] of Object.entries(chunkBytes)) this.chunkBytes.set(registry, Math.max(1, n));
  }

  /**
   * Runs one attempt: open a session (or use `opened`, one the registry already opened), send the
   * bytes, commit with `?digest=`. Returns the bytes sent.
   */
  async attempt(job: UploadJob, action: string, opened?: UploadSession): Promise<number> {
    const scopes = [pushScope(job.repository)];
    let session = opened ?? await this.openSession(job, action, scopes);
    try {
      if (!this.chunkBytes.has(job.registry)) {
        const res = await this.putWhole(job, session.location, scopes);
        if (res.status !== 413) return res.sent;
        // Too large for one request (a proxy's body limit): chunk from now on, on a fresh session.
        this.chunkBytes.set(job.registry, DEFAULT_CHUNK_BYTES);
        this.events({ type: 'log', level: 'debug', message: `${action}: the registry refused the blob in one request (413); uploading in chunks of ${DEFAULT_CHUNK_BYTES} bytes` });
        await this.cancel(job, session.location);
        session = await this.openSession(job, action, scopes);
      }
      return await this.putChunks(job, action, session, scopes);
    } catch (err) {
      // An abandoned session holds storage until the registry purges it: say we are done with it.
      await this.cancel(job, session.location);
      throw err;
    }
  }

  private async openSession(job: UploadJob, action: string, scopes: string[]): Promise<UploadSession> {
    const res = await this.transport.send({ registry: job.registry, method: 'POST', target: `/v2/${job.repository}/blobs/uploads/`, scopes, headers: { 'content-length': '0' } });
    if (res.statusCode !== 202 && res.statusCode !== 201) throw await responseError(res, action);
    const session = sessionOf(res);
    await discard(res);
    if (!session) throw new ShaleError('SHALE_REGISTRY_PROTOCOL', `${action}: the registry opened an upload without a Location header`);
    return session;
  }

  private async putWhole(job: UploadJob, location: string, scopes: string[]): Promise<{ status: number; sent: number }> {
    const action = `pushing blob ${job.digest} to ${job.registry}/${job.repository}`;
    let counter: CountingStream | undefined;
    const res = await this.transport.send({
      registry: job.registry, method: 'PUT', target: withQuery(location, 'digest', job.digest), scopes,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(job.size) },
      body: async () => {
        const src = await job.open();
        const c = new CountingStream(job.onProgress);
        counter = c;
        pipeline(src, c, () => {});
        return c;
      },
    });
    if (res.statusCode === 413) {
      await discard(res);
      return { status: 413, sent: 0 };
    }
    await this.committed(res, job, action);
    return { status: res.statusCode, sent: counter?.bytes ?? 0 };
  }

  private async putChunks(job: UploadJob, action: string, session: UploadSession, scopes: string[]): Promise<number> {
    const source = new ChunkSource(job.open);
    let location = session.location;
    let offset = 0;
    let sent = 0;
    let setbacks = 0;
    try {
      while (offset < job.size) {
        const limit = this.chunkBytes.get(job.registry) ?? DEFAULT_CHUNK_BYTES;
        const n = Math.min(Math.max(limit, session.minChunk), job.size - offset);
        const bytes = await source.read(offset, n);
        if (bytes.length !== n) throw new ShaleError('SHALE_BLOB_SOURCE', `${action}: the blob's source ended after ${offset + bytes.length} of ${job.size} bytes`);
        let res: HttpResponse;
        try {
          res = await this.transport.send({
            registry: job.registry, method: 'PATCH', target: location, scopes,
            headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + n - 1}`, 'content-length': String(n) },
            body: () => bytes,
          });
        } catch (err) {
          if (!isTemporary(err) || ++setbacks >= this.retry.tries * 2) throw err;
          // The chunk may or may not have landed: ask the registry where the upload stands.
          await this.pause(err, setbacks);
          ({ location, offset } = await this.status(job, action, location, scopes));
          continue;
        }
        if (res.statusCode === 202) {
          location = header(res, 'location') ?? location;
          const end = rangeEnd(header(res, 'range'));
          await discard(res);
          offset = end === undefined ? offset + n : end + 1;
          sent += n;
          job.onProgress?.(offset);
          continue;
        }
        if ((res.statusCode === 416 || res.statusCode === 413 || res.statusCode >= 500 || res.statusCode === 429) && ++setbacks < this.retry.tries * 2) {
          const err = await responseError(res, action);
          if (res.statusCode === 413) this.chunkBytes.set(job.registry, Math.max(MIN_CHUNK_BYTES, Math.floor(n / 2)));
          if (res.statusCode !== 416) await this.pause(err, setbacks);
          this.events({ type: 'log', level: 'debug', message: `${action}: chunk at ${offset} got ${res.statusCode}; resuming from the upload's status` });
          ({ location, offset } = await this.status(job, action, location, scopes));
          continue;
        }
        throw await responseError(res, action);
      }
    } finally {
      source.close();
    }
    const res = await this.transport.send({
      registry: job.registry, method: 'PUT', target: withQuery(location, 'digest', job.digest), scopes, headers: { 'content-length': '0' },
    });
    await this.committed(res, job, action);
    return sent;
  }

  /** GET on the upload's Location: where it stands (its `Range`) and its newest Location. */
  private async status(job: UploadJob, action: string, location: string, scopes: string[]): Promise<{ location: string; offset: number }> {
    const res = await this.transport.send({ registry: job.registry, method: 'GET', target: location, scopes });
    if (res.statusCode !== 204 && res.statusCode !== 202 && res.statusCode !== 200) throw await responseError(res, `${action} (asking where the upload stands)`);
    const end = rangeEnd(header(res, 'range'));
    const next = header(res, 'location') ?? location;
    await discard(res);
    return { location: next, offset: end === undefined ? 0 : end + 1 };
  }

  private async committed(res: HttpResponse, job: UploadJob, action: string): Promise<void> {
    if (res.statusCode !== 201 && res.statusCode !== 204) throw await responseError(res, action);
    await discard(res);
    const claimed = header(res, 'docker-content-digest');
    if (claimed && claimed !== job.digest) throw digestMismatch(action, job.digest, claimed);
  }

  private async pause(err: unknown, attempt: number): Promise<void> {
    const signal = this.transport.signal;
    try {
      await sleep(retryDelay(err, attempt, this.retry), undefined, signal ? { signal } : {});
    } catch {
      throw new InterruptedError();
    }
  }

  /** DELETEs an upload session, best effort and briefly, even after Ctrl-C. */
  async cancel(job: { registry: string; repository: string }, location: string): Promise<void> {
    try {
      const res = await this.transport.send({ registry: job.registry, method: 'DELETE', target: location, scopes: [pushScope(job.repository)], cleanup: true });
      await discard(res);
    } catch (err) {
      this.events({ type: 'log', level: 'debug', message: `cancelling an upload session on ${job.registry}: ${(err as Error).message}` });
    }
  }
}

/** The session a 202 answer to a POST on `/blobs/uploads/` opened: its Location and `OCI-Chunk-Min-Length`. */
export function sessionOf(res: HttpResponse): UploadSession | undefined {
  const location = header(res, 'location');
  if (!location) return undefined;
  const minChunk = Number(header(res, 'oci-chunk-min-length') ?? 0);
  return { location, minChunk: Number.isFinite(minChunk) && minChunk > 0 ? minChunk : 0 };
}

/** The last byte a `Range: 0-N` header covers; undefined when absent or when nothing was stored yet. */
export function rangeEnd(range: string | undefined): number | undefined {
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(range?.trim() ?? '');
  if (!m) return undefined;
  const end = Number(m[2]);
  // distribution reports an empty upload as "0-0", the same as one byte; chunks are never one byte.
  return end === 0 ? undefined : end;
}

/** Adds a query parameter to a Location that may be relative and may already carry a query. */
export function withQuery(location: string, key: string, value: string): string {
  const hashAt = location.indexOf('#');
  const base = hashAt >= 0 ? location.slice(0, hashAt) : location;
  return `${base}${base.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}
