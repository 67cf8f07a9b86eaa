import { dirname } from 'node:path';
import { pipeline as pipeStreams, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';
import { DigestingStream } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { fileSink, removeQuietly, syncAndRename, tempPathFor } from '../store/atomic-file.js';
import { isWriteFailure, writeFailure } from '../store/disk-errors.js';
import { liveTemp } from '../store/live-temps.js';
import { digestMismatch } from '../store/verifying-stream.js';

/** Fixed header fields, so the same content always gives the same tar bytes. */
const HEADER = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) } as const;

/** Adds a file entry from bytes in memory. */
export async function addBytes(pack: Pack, name: string, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    pack.entry({ ...HEADER, name, type: 'file', size: bytes.length }, bytes, (err) => (err ? reject(err) : resolve()));
  });
}

/** Adds a directory entry. */
export async function addDir(pack: Pack, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    pack.entry({ ...HEADER, mode: 0o755, name, type: 'directory' }, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Streams `src` into a file entry of `size` bytes, checking on the way that the content hashes
 * to `expect` (a tar header carries the size up front, so a blob that is not what its
 * descriptor says must fail the write, not make a broken archive).
 */
export async function addStream(pack: Pack, name: string, size: number, src: Readable, expect: Digest): Promise<void> {
  let settle: (err?: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  done.catch(() => undefined); // observed below; this only keeps an early failure from going unhandled
  const sink = pack.entry({ ...HEADER, name, type: 'file', size }, (err) => settle(err));
  // Its errors reach `done` through the callback; a listener keeps destroy() from throwing them again.
  sink.on('error', () => undefined);
  const digesting = new DigestingStream();
  try {
    // pipeline (not pipe) so an error in `src` ends the loop instead of leaving it waiting.
    for await (const chunk of pipeStreams(src, digesting, () => undefined)) {
      if (digesting.size > size) break;
      if (sink.destroying) throw new Error(`the archive was closed while ${name} was being written`);
      if (!sink.write(chunk)) await drained(sink);
    }
    if (digesting.size !== size || digesting.digest() !== expect) {
      throw digestMismatch(`writing ${name}`, expect, digesting.digest(), digesting.size);
    }
    sink.end(undefined);
  } catch (err) {
    src.destroy();
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  await done;
}

/**
 * Writes a tar file atomically: `fill` adds the entries to a tar-stream pack, which is written to
 * a temporary file beside `file` and renamed into place only when everything succeeded, so a
 * failed write leaves no archive (and no half archive) at `file`, and no temporary file. A full
 * disk or a directory this user may not write is a ShaleError naming `file` and its directory.
 */
export async function writeTarAtomic(file: string, fill: (pack: Pack) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(file);
  const done = liveTemp(tmp);
  const pack = tarPack();
  const out = fileSink(tmp, file, dirname(file));
  const written = pipeline(pack as AsyncIterable<Buffer>, out);
  try {
    // If the output fails (disk full), stop at once rather than wait for `fill` to notice.
    await Promise.all([fill(pack).then(() => pack.finalize()), written]);
    await syncAndRename(tmp, file).catch((err: unknown) => {
      throw writeFailure(err, file, dirname(file));
    });
  } catch (err) {
    pack.destroy();
    out.destroy();
    const writeErr = await written.then(
      () => undefined,
      (e: unknown) => e,
    );
    await removeQuietly(tmp);
    // A full disk also breaks whatever `fill` was adding; the disk is what the user must fix.
    throw isWriteFailure(writeErr) ? writeErr : err;
  } finally {
    done();
  }
}

/** Waits until a tar entry wants more data, or is closed (then the loop reports it). */
function drained(sink: ReturnType<Pack['entry']>): Promise<void> {
  if (sink.destroying) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
