import type { Readable, Writable } from 'node:stream';

/**
 * `src.pipe(dest)` that also hands src's error to dest and stops src when dest closes first:
 * what stream.pipeline does for two streams, without the AbortController it makes per call
 * (and the DOMException it creates as each one finishes), which cost ~5% of the time to build a
 * layer of thousands of small files. dest's own errors are the caller's to listen for.
 */
export function pipeInto<T extends Writable>(src: Readable, dest: T): T {
  src.on('error', (err) => dest.destroy(err));
  dest.once('close', () => {
    if (!src.readableEnded) src.destroy();
  });
  return src.pipe(dest);
}
