import type { Readable } from 'node:stream';
import type { Digest } from '../oci/types.js';
import type { BlobStore } from './blob-store.js';

/**
 * Somewhere blobs can be read from by digest: a layout directory, a tarball. Both methods
 * verify the content against the digest, so what comes back is what was asked for.
 */
export interface BlobSource {
  /** Names the source in errors ("OCI layout ./out", "tarball x.tar"). */
  readonly where: string;
  /** The whole blob in memory (manifests, configs). */
  readBytes(d: Digest): Promise<Buffer>;
  /** A stream of the blob (layers). */
  open(d: Digest): Promise<Readable>;
}

/** Reads a stream to the end into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A BlobStore seen as a BlobSource. */
export function storeSource(store: BlobStore, where: string): BlobSource {
  return {
    where,
    readBytes: async (d) => readAll(await store.open(d)),
    open: (d) => store.open(d),
  };
}
