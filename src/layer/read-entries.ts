/**
 * Reading a layer back: its tar entries, streamed through gunzip and tar-stream, one at a time,
 * with nothing written to disk. The one reader behind `shale validate` (every entry of every
 * layer) and the base-image scan (top layer first, stopping as soon as it knows enough).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Header } from 'tar-stream';
import { ShaleError } from '../errors.js';

/** One entry of a layer tar. Its body streams once; an entry whose body is not read is skipped. */
export interface TarEntry {
  /** Absolute and normalized: "./usr/bin/" → "/usr/bin". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  mode: number;
  /** Bytes of the body (0 but for regular files). */
  size: number;
  /** A symlink's target as written; for a hard link, the path it names, normalized. */
  linkname?: string;
  /** The body as it streams. Read it at most once, before asking for the next entry. */
  body: AsyncIterable<Buffer>;
  /** The whole body in memory (for small files: a release string, a library's banner). */
  bytes(): Promise<Buffer>;
}

/** A layer blob, opened on demand; without a media type it is taken to be gzip'd. */
export interface LayerBlob {
  mediaType?: string;
  open(): Promise<Readable>;
}

/** How a layer's tar is compressed, by its media type: zstd layers cannot be read here. */
export function layerCompression(mediaType: string | undefined): 'gzip' | 'none' | 'zstd' {
  if (mediaType === undefined || /gzip/.test(mediaType)) return 'gzip';
  if (/zstd/.test(mediaType)) return 'zstd';
  return 'none';
}

/** "./usr/bin/" → "/usr/bin"; "" and "./" → "/". */
export function normalizeTarPath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return `/${parts.join('/')}`;
}

function entryType(t: Header['type'] | null | undefined): TarEntry['type'] {
  if (t === 'file' || t === 'contiguous-file') return 'file';
  if (t === 'directory') return 'dir';
  if (t === 'symlink' || t === 'link') return t;
  return 'other';
}

/**
 * The entries of a layer, top of the tar first. Breaking out of the loop stops the download and
 * the decompression at once (the streams are destroyed), which is what makes reading a base
 * image for one file cheap when that file comes early. Errors of the source (the network) and
 * of the data (not gzip, not a tar) end the iteration as thrown; a zstd layer is an error.
 */
export async function* layerEntries(layer: LayerBlob): AsyncGenerator<TarEntry, void, undefined> {
  const compression = layerCompression(layer.mediaType);
  if (compression === 'zstd') throw new ShaleError('SHALE_LAYER_ZSTD', `a zstd-compressed layer (${layer.mediaType ?? ''}) cannot be read by shale`);
  const src = await layer.open();
  const extract = tarExtract();
  // 256 KiB out of gunzip at a time, not zlib's 16 KiB: a fourth of the chunks through tar-stream
  // (a base layer of 100 MB reads in about half the time).
  const feeding = compression === 'gzip' ? pipeline(src, createGunzip({ chunkSize: 1 << 18 }), extract) : pipeline(src, extract);
  // A failure also ends the iteration below, which throws it; stopping early destroys the
  // streams on purpose, and that "error" must not surface as an unhandled rejection.
  feeding.catch(() => undefined);
  let finished = false;
  try {
    for await (const stream of extract) {
      const { header } = stream;
      const type = entryType(header.type);
      let read = false;
      const body: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]: () => {
          read = true;
          return (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
        },
      };
      const entry: TarEntry = {
        path: normalizeTarPath(header.name),
        type,
        mode: header.mode ?? 0,
        size: header.size ?? 0,
        body,
        bytes: async () => {
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c);
          return Buffer.concat(chunks);
        },
      };
      if (header.linkname) entry.linkname = type === 'link' ? normalizeTarPath(header.linkname) : header.linkname;
      yield entry;
      // tar-stream parses on only once the entry's body is drained.
      if (!read) stream.resume();
    }
    await feeding;
    finished = true;
  } finally {
    if (!finished) {
      src.destroy();
      extract.destroy();
    }
  }
}
