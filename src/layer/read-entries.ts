/**
 * Reading a layer back: its tar entries, streamed through gunzip and tar-headers.ts, one at a
 * time, with nothing written to disk. The one reader behind `shale validate` (every entry of
 * every layer) and the base-image scan (top layer first, stopping as soon as it knows enough).
 */
import { pipeline as pipe, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ShaleError } from '../errors.js';
import { ChunkReader, tarEntries } from './tar-headers.js';

/** One entry of a layer tar. Its body streams once; an entry whose body is not read is skipped. */
export interface TarEntry {
  /** Absolute and normalized: "./usr/bin/" → "/usr/bin". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  mode: number;
  /** Numeric owner and group, as the tar header has them. */
  uid?: number;
  gid?: number;
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

function entryType(t: string): TarEntry['type'] {
  if (t === 'file' || t === 'contiguous-file') return 'file';
  if (t === 'directory') return 'dir';
  if (t === 'symlink' || t === 'link') return t;
  return 'other';
}

/**
 * The entries of a layer, top of the tar first. Breaking out of the loop stops the download and
 * the decompression at once (the streams are destroyed), which is what makes reading a base
 * image for one file cheap when that file comes early. Bodies not read are skipped inside the
 * decompressed chunks (tar-headers.ts), so listing a layer costs little more than its gunzip.
 * Errors of the source (the network) and of the data (not gzip, not a tar) end the iteration
 * as thrown; a zstd layer is an error.
 */
export async function* layerEntries(layer: LayerBlob): AsyncGenerator<TarEntry, void, undefined> {
  const compression = layerCompression(layer.mediaType);
  if (compression === 'zstd') throw new ShaleError('SHALE_LAYER_ZSTD', `a zstd-compressed layer (${layer.mediaType ?? ''}) cannot be read by shale`);
  const src = await layer.open();
  // 256 KiB out of gunzip at a time, not zlib's 16 KiB: fewer, larger chunks to walk. An error of
  // the source destroys gunzip with it, and so ends the iteration below.
  const data: Readable = compression === 'gzip' ? pipe(src, createGunzip({ chunkSize: 1 << 18 }), () => undefined) : src;
  let finished = false;
  try {
    for await (const { header, body } of tarEntries(new ChunkReader(data[Symbol.asyncIterator]()))) {
      const type = entryType(header.type);
      const entry: TarEntry = {
        path: normalizeTarPath(header.name),
        type,
        mode: header.mode,
        uid: header.uid,
        gid: header.gid,
        size: header.size,
        body,
        bytes: async () => {
          const chunks: Buffer[] = [];
          for await (const c of body) chunks.push(c);
          return Buffer.concat(chunks);
        },
      };
      if (header.linkname) entry.linkname = type === 'link' ? normalizeTarPath(header.linkname) : header.linkname;
      yield entry;
    }
    finished = true;
  } finally {
    if (!finished) {
      src.destroy();
      data.destroy();
    }
  }
}
