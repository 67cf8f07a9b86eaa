import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';

/**
 * A fresh temporary path next to `target` (same directory, so the final `rename` is atomic and
 * never crosses file systems). The pid and random suffix keep concurrent writers apart.
 */
export function tempPathFor(target: string): string {
  const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return join(dirname(target), `.tmp-${basename(target)}-${suffix}`);
}

/** Removes a temporary file, ignoring a missing one (cleanup must not hide the first error). */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined);
}

/**
 * Writes `data` to `target` atomically: a reader sees either the old file or the whole new one,
 * never a part. Used for index.json, oci-layout and cache index entries.
 */
export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await removeQuietly(tmp);
    throw err;
  }
}

/** What a streamed write produced. */
export interface WrittenBlob {
  digest: Digest;
  size: number;
}

/**
 * Streams `src` into a temporary file beside `near`, hashing it on the way, then renames it to
 * the path `target` returns for the digest and size (content-addressed files learn their name
 * only at the end). `target` throws to refuse the content (say, a digest mismatch); then nothing
 * is left behind.
 */
export async function writeStreamAtomic(
  near: string,
  src: Readable,
  target: (written: WrittenBlob) => string,
): Promise<WrittenBlob> {
  const tmp = tempPathFor(near);
  const digesting = new DigestingStream();
  try {
    await pipeline(src, digesting, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const written: WrittenBlob = { digest: digesting.digest(), size: digesting.size };
    await syncAndRename(tmp, target(written));
    return written;
  } catch (err) {
    src.destroy();
    await removeQuietly(tmp);
    throw err;
  }
}

/**
 * Flushes a finished temporary file to disk and renames it over `target`. Without the flush a
 * crash soon after could leave a renamed but empty file where a complete one was promised.
 */
export async function syncAndRename(tmp: string, target: string): Promise<void> {
  const fh = await open(tmp, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, target);
}
