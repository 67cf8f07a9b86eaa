import type { Readable } from 'node:stream';
import type { BlobOrigin } from '../oci/image.js';
import type { Descriptor } from '../oci/types.js';

/**
 * Where an image's manifests and blobs are read from, by descriptor: a registry repository, an
 * OCI layout directory, a tarball. Every method checks the content against the descriptor's
 * digest, so what comes back is what was asked for.
 */
export interface BlobSource {
  /** Names the source in errors ("OCI layout ./out", "tarball x.tar", "base image docker.io/…"). */
  readonly where: string;
  /** A manifest or an index, whole (a registry serves these apart from blobs). */
  manifest(d: Descriptor): Promise<Buffer>;
  /** A small blob, whole (a config). */
  bytes(d: Descriptor): Promise<Buffer>;
  /** A blob as a stream (a layer). */
  open(d: Descriptor): Promise<Readable>;
  /** The registry repository that holds the blobs, so a push to that registry can mount the layers. */
  readonly origin?: BlobOrigin;
}

/** Reads a stream to the end into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
