import { constants as zc } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { DigestingStream } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import type { Entry } from './entry.js';
import { ParallelGzip } from './parallel-gzip.js';
import { tarStream, type TarOptions } from './tar.js';

/** Where compressed layer bytes go: anything with a streaming `put` (the local blob store). */
export interface BlobSink {
  put(src: Readable): Promise<{ digest: Digest; size: number }>;
}

/** The result of writing a layer: the compressed blob and the digest of its uncompressed tar. */
export interface LayerBlob {
  digest: Digest;
  size: number;
  diffId: Digest;
}

/**
 * The gzip settings are part of the layer format: the same tar must always give the same bytes.
 * Level 4, measured on a 115 MB scipy layer: 91 MB/s and 36.5 MB, against 51 MB/s and 35.3 MB at
 * level 6 (gzip's and pigz's default): 1.8× the speed for 3% more bytes.
 */
export const GZIP_LEVEL = 4;

/** Bumped whenever the bytes a layer's inputs produce could change (part of every fingerprint). */
export const LAYER_FORMAT_VERSION = 3;

/**
 * The layer compressor: gzip at GZIP_LEVEL in 1 MiB blocks deflated on every core
 * (parallel-gzip.ts); the bytes depend on the input only (format 3; format 2 was one zlib stream).
 */
export function layerGzip(): Transform {
  return new ParallelGzip({ level: GZIP_LEVEL, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY });
}

/**
 * Writes the entries as a tar+gzip blob into the sink, hashing both forms in one pass. Returns
 * only when both sides are done, also on failure: the sink removes its temporary file before
 * the error reaches the caller (who may end the process). When the sink failed (a full disk),
 * that is the error; the tar side then only saw its output close.
 */
export async function writeLayerBlob(entries: readonly Entry[], opts: TarOptions, sink: BlobSink): Promise<LayerBlob> {
  const tarDigest = new DigestingStream();
  const out = new PassThrough();
  const stored = sink.put(out);
  const [made, put] = await Promise.allSettled([pipeline(tarStream(entries, opts), tarDigest, layerGzip(), out), stored]);
  if (put.status === 'rejected' && (made.status === 'fulfilled' || isPrematureClose(made.reason))) throw put.reason;
  if (made.status === 'rejected') throw made.reason;
  if (put.status === 'rejected') throw put.reason;
  return { digest: put.value.digest, size: put.value.size, diffId: tarDigest.digest() };
}

const isPrematureClose = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
