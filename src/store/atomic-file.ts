import { randomBytes } from 'node:crypto';
import { close, createWriteStream, open as openCb, write, writev, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { writeFailure } from './disk-errors.js';
import { liveTemp } from './live-temps.js';

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
 * never a part. Used for index.json, oci-layout and cache index entries. A full disk or a
 * refused permission is a ShaleError naming `target` and `dir`, the directory to free or fix
 * (default: the target's own); the temporary file never outlives a failure.
 */
export async function writeFileAtomic(target: string, data: Buffer | string, dir = dirname(target)): Promise<void> {
  const tmp = tempPathFor(target);
  const done = liveTemp(tmp);
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
    throw writeFailure(err, target, dir);
  } finally {
    done();
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
 * is left behind. Failures of the write itself (a full disk, a refused permission) name
 * `what` and `dir`; failures of `src` (an unreadable input file, the network) pass unchanged.
 */
export async function writeStreamAtomic(
  near: string,
  src: Readable,
  target: (written: WrittenBlob) => string,
  place: { what: string; dir: string } = { what: dirname(near), dir: dirname(near) },
): Promise<WrittenBlob> {
  const tmp = tempPathFor(near);
  const done = liveTemp(tmp);
  const digesting = new DigestingStream();
  try {
    await pipeline(src, digesting, fileSink(tmp, place.what, place.dir));
    const written: WrittenBlob = { digest: digesting.digest(), size: digesting.size };
    const final = target(written);
    await syncAndRename(tmp, final).catch((err: unknown) => {
      throw writeFailure(err, final, place.dir);
    });
    return written;
  } catch (err) {
    src.destroy();
    await removeQuietly(tmp);
    throw err;
  } finally {
    done();
  }
}

/**
 * A write stream creating `tmp` (exclusively, 0644) whose own failures to open and write are
 * already {@link writeFailure}s naming `what` and `dir`. Converting them where they happen, not
 * after the pipeline failed, keeps an error of the source (an input file this user may not
 * read: EACCES too) from being blamed on the destination.
 */
export function fileSink(tmp: string, what: string, dir: string): WriteStream {
  type Cb = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
  const report =
    (cb: Cb) =>
    (err: NodeJS.ErrnoException | null, ...rest: unknown[]): void => {
      cb(err ? (writeFailure(err, what, dir) as NodeJS.ErrnoException) : null, ...rest);
    };
  const fs = {
    open: (path: string, flags: string, mode: number, cb: Cb) => openCb(path, flags, mode, report(cb)),
    write: (fd: number, buf: Buffer, off: number, len: number, pos: number | null, cb: Cb) => write(fd, buf, off, len, pos, report(cb)),
    writev: (fd: number, bufs: Buffer[], pos: number | null, cb: Cb) => writev(fd, bufs, pos, report(cb)),
    close,
  };
  return createWriteStream(tmp, { flags: 'wx', mode: 0o644, fs });
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
