import { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Digest } from '../oci/types.js';
import { pushScope } from './challenge.js';
import { ChunkSource } from './chunk-source.js';
import { InterruptedError, RegistryError, digestMismatch } from './errors.js';
import { discard, header, type HttpResponse } from '../http/client.js';
import { BLOB_HINT, isTemporary, retryLine, type RetryBudget } from './retry.js';
import { responseError, type RegistryTransport } from './transport.js';

/**
 * Blobs larger than this go up in chunks (PATCH with `Content-Range`), so a request that fails
 * costs at most one chunk: the upload goes on from what the registry holds. Chunks start at this
 * size.
 */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/**
 * While a registry has failed nothing, each accepted chunk doubles the next one up to this size:
 * every request costs the registry a few tens of ms (docker-registry resumes the upload and saves
 * its hash state), which 16 MiB chunks pay about 0.3 s per 100 MB on a fast link. After the
 * registry's first failure, chunks stay at DEFAULT_CHUNK_BYTES.
 */
const MAX_GROWN_CHUNK_BYTES = 128 << 20;
const MIN_CHUNK_BYTES = 256 << 10;
/** Bodies from this size on ask `Expect: 100-continue`: a refused request then costs no body. */
const EXPECT_CONTINUE_BYTES = 1 << 20;
/** 416 answers in a row, without progress, after which chunked uploads count as refused. */
const MAX_RANGE_REFUSALS = 3;

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
  /** Opens the blob's bytes from the start; called again when an upload must go back. */
  open: () => Promise<Readable>;
  onProgress?: (bytes: number) => void;
}

/** Where one upload stands: its session, the bytes the registry holds in it, and what to do next. */
interface UploadState {
  session: UploadSession | undefined;
  /** Bytes the registry holds in the session (the next byte to send). */
  offset: number;
  /** Ask the session's status before sending more (after a failure, a 416, a 413). */
  ask: boolean;
  /** An attempt failed: before opening a fresh session, HEAD the blob (a lost commit answer may have landed). */
  failed: boolean;
  /** 416 answers since the last progress. */
  refusals: number;
  /** The next chunk's size while the registry has failed nothing (doubles per accepted chunk). */
  grown: number;
  /** Bytes sent in all, resent ones included. */
  sent: number;
}

/**
 * Uploads blobs (distribution spec, "Pushing blobs"). A blob up to 16 MiB goes in one streamed
 * PUT; a larger one in PATCH chunks with inclusive `Content-Range` ("Pushing a blob in chunks"),
 * each to the newest `Location`, growing from 16 MiB while the registry fails nothing (see
 * MAX_GROWN_CHUNK_BYTES). Every failure is weighed against the operation's retry budget;
 * after one, the upload asks its session where it stands (GET on the Location: `Range: 0-N`,
 * "Resuming an upload" / upload status) and goes on from byte N+1, so a failed request costs at
 * most its own body. A session the registry dropped (404: distribution drops one whose request
 * was cut mid-body) is replaced by a fresh one, after a HEAD of the blob; a registry that refuses
 * chunks gets whole-blob PUTs from then on.
 */
export class BlobUploader {
  /** The chunk size per registry: configured, or learnt from a 413. */
  private readonly chunkBytes = new Map<string, number>();
  /** Registries that refused chunked uploads: whole-blob PUTs only. */
  private readonly monolithic = new Set<string>();
  /** Registries that failed a request of an upload in this run: their chunks no longer grow. */
  private readonly troubled = new Set<string>();
  constructor(
    private readonly transport: RegistryTransport,
    private readonly events: Events,
    chunkBytes: Readonly<Record<string, number>>,
  ) {
    for (const [registry, n] of Object.entries(chunkBytes)) this.chunkBytes.set(registry, Math.max(1, n));
  }

  /**
   * Uploads one blob within `budget`, into `opened` (a session the registry already opened) or a
   * session of its own; returns the bytes sent (resent ones included). A final failure DELETEs
   * the session and carries the budget's "gave up" note.
   */
  async upload(job: UploadJob, action: string, budget: RetryBudget, opened?: UploadSession): Promise<number> {
    const scopes = [pushScope(job.repository)];
    const source = new ChunkSource(job.open, `blob ${job.digest}`);
    const st: UploadState = { session: opened, offset: 0, ask: false, failed: false, refusals: 0, sent: 0, grown: DEFAULT_CHUNK_BYTES };
    try {
      for (;;) {
        try {
          if (await this.step(job, action, scopes, source, st, budget)) return st.sent;
        } catch (err) {
          if (this.transport.signal?.aborted || err instanceof InterruptedError) throw new InterruptedError();
          const lost = sessionLost(err);
          if (!isTemporary(err) && !lost) throw err;
          this.troubled.add(job.registry);
          const delay = budget.next(err);
          if (delay === undefined) {
            budget.markGaveUp(err, BLOB_HINT);
            throw err;
          }
          this.events({ type: 'log', level: 'debug', message: retryLine(action, err, delay, budget) });
          await budget.sleep(delay, this.transport.signal);
          st.failed = true;
          if (lost) st.session = undefined;
          // Whatever failed, the session (if any) knows what it holds: ask before sending more.
          st.ask = st.session !== undefined;
        }
      }
    } catch (err) {
      // An abandoned session holds storage until the registry purges it: say we are done with it.
      if (st.session) await this.cancel(job, st.session.location);
      throw err;
    } finally {
      source.close();
    }
  }

  /** One step of an upload; true once the blob is in the repository. Failures throw. */
  private async step(job: UploadJob, action: string, scopes: string[], source: ChunkSource, st: UploadState, budget: RetryBudget): Promise<boolean> {
    if (st.session && st.ask) {
      const status = await this.status(job, action, st.session.location, scopes);
      budget.answered();
      st.ask = false;
      if (!status) {
        st.session = undefined;
      } else {
        if (status.offset > st.offset) budget.progress();
        st.session = { ...st.session, location: status.location };
        st.offset = status.offset;
      }
    }
    if (!st.session) {
      // A commit whose answer was lost may have landed: look before sending the blob again.
      if (st.failed && (await blobExists(this.transport, job))) return true;
      st.session = await this.openSession(job, action, scopes);
      budget.answered();
      st.offset = 0;
    }
    const chunk = this.chunkSize(job, st.session, st.grown);
    if (chunk === undefined || st.offset >= job.size) return this.putRest(job, action, scopes, source, st);
    const n = Math.min(chunk, job.size - st.offset);
    const res = await this.send(job, 'PATCH', st.session.location, scopes, source, st, n, false);
    if (res.statusCode === 202) {
      const end = rangeEnd(header(res, 'range'));
      st.session = { ...st.session, location: header(res, 'location') ?? st.session.location };
      await discard(res);
      st.offset = end === undefined ? st.offset + n : end + 1;
      st.refusals = 0;
      st.grown = Math.min(MAX_GROWN_CHUNK_BYTES, st.grown * 2);
      budget.progress();
      job.onProgress?.(st.offset);
      return false;
    }
    if (res.statusCode === 413) {
      // A body limit between us and the registry: smaller chunks, from where the upload stands.
      await discard(res);
      this.learnLimit(job, action, n);
      st.ask = true;
      return false;
    }
    if (res.statusCode === 416 && ++st.refusals < MAX_RANGE_REFUSALS) {
      // The registry holds something else than we thought (a chunk landed whose answer was lost).
      await discard(res);
      this.events({ type: 'log', level: 'debug', message: `${action}: chunk at ${st.offset} got 416; resuming from the upload's status` });
      st.ask = true;
      return false;
    }
    const err = sessionError(res, await responseError(res, action));
    if (st.offset === 0 && refusesChunks(res.statusCode, err)) {
      // Some registries take a blob only whole (the spec's chunked upload is theirs to refuse).
      this.events({ type: 'log', level: 'debug', message: `${action}: the registry refused a chunked upload (${res.statusCode}); uploading whole blobs` });
      this.monolithic.add(job.registry);
      await this.cancel(job, st.session.location);
      st.session = undefined;
      st.failed = false;
      return false;
    }
    throw err;
  }

  /**
   * The closing PUT with `?digest=`, carrying the bytes the session does not hold yet: the whole
   * blob (a monolithic upload), or none after the last chunk. A PUT with the rest after a resume
   * carries `Content-Range` (distribution spec: the closing PUT MAY carry the final chunk).
   */
  private async putRest(job: UploadJob, action: string, scopes: string[], source: ChunkSource, st: UploadState): Promise<boolean> {
    const session = st.session as UploadSession;
    const res = await this.send(job, 'PUT', withQuery(session.location, 'digest', job.digest), scopes, source, st, job.size - st.offset, true);
    if (res.statusCode === 413 && job.size - st.offset > 0) {
      await discard(res);
      this.learnLimit(job, action, job.size - st.offset);
      st.ask = true;
      return false;
    }
    if (res.statusCode !== 201 && res.statusCode !== 204) throw sessionError(res, await responseError(res, action));
    await discard(res);
    const claimed = header(res, 'docker-content-digest');
    if (claimed && claimed !== job.digest) throw digestMismatch(action, job.digest, claimed);
    st.session = undefined;
    job.onProgress?.(job.size);
    return true;
  }

  /** Sends `n` bytes of the blob from `st.offset` (a chunk, or the rest with the closing PUT), counted into `st.sent`. */
  private send(
    job: UploadJob,
    method: 'PATCH' | 'PUT',
    target: string,
    scopes: string[],
    source: ChunkSource,
    st: UploadState,
    n: number,
    closing: boolean,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'content-length': String(n) };
    if (n > 0) headers['content-type'] = 'application/octet-stream';
    // Content-Range names the chunk's bytes, inclusive (distribution spec); a whole-blob PUT needs none.
    if (n > 0 && (!closing || st.offset > 0)) headers['content-range'] = `${st.offset}-${st.offset + n - 1}`;
    const from = st.offset;
    return this.transport.send({
      registry: job.registry,
      method,
      target,
      scopes,
      headers,
      ...(n >= EXPECT_CONTINUE_BYTES ? { expectContinue: true } : {}),
      ...(n > 0
        ? {
            body: async (): Promise<Readable> => {
              const piece = source.piece(from, n);
              // Counted once the request took them (the generator resumes only when it reads on), so a
              // body held back by 100-continue and never sent counts nothing.
              async function* counting(): AsyncGenerator<Buffer> {
                let done = 0;
                for await (const b of piece) {
                  yield b as Buffer;
                  done += (b as Buffer).length;
                  st.sent += (b as Buffer).length;
                  job.onProgress?.(from + done);
                }
              }
              return Readable.from(counting(), { objectMode: false });
            },
          }
        : {}),
    });
  }

  /**
   * The next chunk's size for this blob, or undefined for one whole-blob PUT: a registry's limit
   * (configured, or learnt from a 413) as it is; else 16 MiB, growing to `grown` while the
   * registry has failed nothing. Never under `OCI-Chunk-Min-Length`.
   */
  private chunkSize(job: UploadJob, session: UploadSession, grown: number): number | undefined {
    if (this.monolithic.has(job.registry)) return undefined;
    const limit = this.chunkBytes.get(job.registry);
    if (job.size <= (limit ?? DEFAULT_CHUNK_BYTES)) return undefined;
    const size = limit ?? (this.troubled.has(job.registry) ? DEFAULT_CHUNK_BYTES : grown);
    return Math.max(size, session.minChunk);
  }

  /** A 413 for a body of `n` bytes: requests stay under half of it from now on (not below 256 KiB). */
  private learnLimit(job: UploadJob, action: string, n: number): void {
    if (n <= MIN_CHUNK_BYTES) {
      throw new ShaleError(
        'SHALE_REGISTRY_BODY_LIMIT',
        `${action}: the registry or a proxy in front of it refused a request of ${n} bytes (413); raise its body size limit`,
      );
    }
    const next = Math.max(MIN_CHUNK_BYTES, Math.floor(Math.min(n, this.chunkBytes.get(job.registry) ?? n) / 2));
    this.chunkBytes.set(job.registry, next);
    this.monolithic.delete(job.registry);
    this.events({
      type: 'log',
      level: 'debug',
      message: `${action}: a request of ${n} bytes was refused as too large (413); uploading in chunks of ${next} bytes`,
    });
  }

  private async openSession(job: UploadJob, action: string, scopes: string[]): Promise<UploadSession> {
    const res = await this.transport.send({
      registry: job.registry,
      method: 'POST',
      target: `/v2/${job.repository}/blobs/uploads/`,
      scopes,
      headers: { 'content-length': '0' },
    });
    if (res.statusCode !== 202 && res.statusCode !== 201) throw await responseError(res, action);
    const session = sessionOf(res);
    await discard(res);
    if (!session) throw new ShaleError('SHALE_REGISTRY_PROTOCOL', `${action}: the registry opened an upload without a Location header`);
    return session;
  }

  /**
   * GET on the upload's Location (distribution spec, "Resuming an upload"): the bytes it holds
   * (`Range: 0-N`) and its newest Location; undefined when the registry no longer has the session.
   */
  private async status(job: UploadJob, action: string, location: string, scopes: string[]): Promise<{ location: string; offset: number } | undefined> {
    const res = await this.transport.send({ registry: job.registry, method: 'GET', target: location, scopes });
    if (res.statusCode === 404) {
      await discard(res);
      this.events({ type: 'log', level: 'debug', message: `${action}: the registry dropped the upload session; starting a fresh one` });
      return undefined;
    }
    if (res.statusCode !== 204 && res.statusCode !== 202 && res.statusCode !== 200)
      throw await responseError(res, `${action} (asking where the upload stands)`);
    const end = rangeEnd(header(res, 'range'));
    const next = header(res, 'location') ?? location;
    await discard(res);
    return { location: next, offset: end === undefined ? 0 : end + 1 };
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

/** One HEAD of a blob (no retry: the caller's budget decides): whether the repository has it. */
export async function blobExists(transport: RegistryTransport, job: { registry: string; repository: string; digest: Digest }): Promise<boolean> {
  const action = `checking blob ${job.digest} in ${job.registry}/${job.repository}`;
  const res = await transport.send({
    registry: job.registry,
    method: 'HEAD',
    target: `/v2/${job.repository}/blobs/${job.digest}`,
    scopes: [pushScope(job.repository)],
    followRedirects: true,
  });
  if (res.statusCode !== 200 && res.statusCode !== 404) throw await responseError(res, action, true);
  await discard(res);
  return res.statusCode === 200;
}

/** Errors of requests on an upload session that say the registry no longer has it. */
const lostSessions = new WeakSet<RegistryError>();

/**
 * Marks the error of a request on an upload session (PATCH, PUT) when it says the session is gone:
 * 404, or BLOB_UPLOAD_UNKNOWN (purged, or dropped after a cut body). Only those: a 404 elsewhere
 * (NAME_UNKNOWN on the POST) is an answer.
 */
function sessionError(res: HttpResponse, err: RegistryError): RegistryError {
  if (res.statusCode === 404 || err.hasCode('BLOB_UPLOAD_UNKNOWN')) lostSessions.add(err);
  return err;
}

/** Whether `err` says the upload's session is gone (see sessionError). */
function sessionLost(err: unknown): boolean {
  return err instanceof RegistryError && lostSessions.has(err);
}

/** Answers to a first chunk that mean "no chunked uploads here" rather than "this chunk is wrong". */
function refusesChunks(status: number, err: RegistryError): boolean {
  if (status === 405 || status === 501 || status === 416) return true;
  return status === 400 && !err.hasCode('DIGEST_INVALID', 'SIZE_INVALID', 'BLOB_UPLOAD_UNKNOWN');
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
