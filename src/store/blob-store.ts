import { createHash } from 'node:crypto';
import { open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { digestHex, isDigest, sha256 } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { writeStreamAtomic, type WrittenBlob } from './atomic-file.js';
import { makeDir } from './disk-errors.js';
import { digestMismatch, verifyingStream } from './verifying-stream.js';

/** What `verify` found: the blob is sound, absent, or was corrupt (and has been deleted). */
export type VerifyResult = 'ok' | 'missing' | 'corrupt';

/**
 * Content-addressed blob storage. Every write is checked against its digest and every read is
 * re-hashed, so a blob handed out is always the blob that was asked for.
 */
export interface BlobStore {
  /** Whether the blob is stored. */
  has(d: Digest): Promise<boolean>;
  /** The file that holds (or would hold) the blob. */
  path(d: Digest): string;
  /** Opens the blob; the stream errors at its end if the content does not match `d`. */
  open(d: Digest): Promise<Readable>;
  /** Stores a stream; with `expect`, content that hashes otherwise is refused and not stored. */
  put(src: Readable, expect?: Digest): Promise<WrittenBlob>;
  /** Stores bytes already in memory (configs, manifests). */
  putBytes(b: Buffer): Promise<WrittenBlob>;
}

/**
 * A BlobStore on the file system: `root/blobs/sha256/<hex>`, the same shape as an OCI image
 * layout, so a layout directory is itself a store. Writes go to a unique temporary file in the
 * same directory and are renamed into place, so two processes writing one blob both succeed
 * and a reader never sees part of a blob.
 */
export class FsBlobStore implements BlobStore {
  readonly root: string;
  private readonly dir: string;
  private ready: Promise<unknown> | undefined;

  constructor(root: string) {
    this.root = root;
    this.dir = join(root, 'blobs', 'sha256');
  }

  /** The blob's file path. Throws on a malformed digest, which could otherwise escape `root`. */
  path(d: Digest): string {
    if (!isDigest(d)) throw new ShaleError('SHALE_BAD_DIGEST', `"${String(d)}" is not a sha256 digest (sha256:<64 hex digits>).`);
    return join(this.dir, digestHex(d));
  }

  async has(d: Digest): Promise<boolean> {
    try {
      return (await stat(this.path(d))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async open(d: Digest): Promise<Readable> {
    const file = this.path(d);
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (isNotFound(err)) throw new ShaleError('SHALE_BLOB_NOT_FOUND', `blob ${d} is not in ${this.root} (no file ${file}).`, { cause: err });
      throw err;
    }
    // A corrupt blob is removed as soon as it is found, so the next build makes it afresh.
    const verify = verifyingStream(d, `blob ${d} in ${this.root}`, 'it has been removed, so the next build writes it again');
    verify.on('error', (err: unknown) => {
      if (err instanceof ShaleError && err.code === 'SHALE_BLOB_CORRUPT') void unlink(file).catch(() => undefined);
    });
    return pipeline(fh.createReadStream(), verify, () => undefined);
  }

  async put(src: Readable, expect?: Digest): Promise<WrittenBlob> {
    if (expect !== undefined) {
      const size = await this.sizeOf(expect);
      if (size !== undefined) {
        src.destroy();
        return { digest: expect, size };
      }
    }
    await this.ensureDir();
    // Until the content is hashed its name is unknown: stage beside the blobs, then rename.
    const place = { what: `a new blob in ${this.dir}`, dir: this.root };
    return writeStreamAtomic(
      join(this.dir, 'incoming'),
      src,
      (w) => {
        if (expect !== undefined && w.digest !== expect) throw digestMismatch(`storing a blob in ${this.root}`, expect, w.digest, w.size);
        return this.path(w.digest);
      },
      place,
    );
  }

  async putBytes(b: Buffer): Promise<WrittenBlob> {
    return this.put(Readable.from([b]), sha256(b));
  }

  /**
   * Re-hashes a stored blob and deletes it when the content no longer matches its name, so the
   * next build stores it afresh instead of failing again.
   */
  async verify(d: Digest): Promise<VerifyResult> {
    const file = this.path(d);
    let fh;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (isNotFound(err)) return 'missing';
      throw err;
    }
    const hash = createHash('sha256');
    try {
      for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    } finally {
      await fh.close();
    }
    if (`sha256:${hash.digest('hex')}` === d) return 'ok';
    await unlink(file).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    return 'corrupt';
  }

  private async sizeOf(d: Digest): Promise<number | undefined> {
    try {
      const s = await stat(this.path(d));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private ensureDir(): Promise<unknown> {
    this.ready ??= makeDir(this.dir, this.root).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}

/** Whether an fs error means "no such file". */
export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === 'ENOENT';
}
