/**
 * Decompression of what Debian archives hold: Packages indexes (.xz, .gz) and the members of a
 * .deb (data.tar.xz, .zst, .gz, or none). Node has gzip; xz comes from xz-decompress (xz-embedded
 * in WebAssembly, bundled), zstd from fzstd (plain JavaScript). In memory: indexes and packages
 * are tens of megabytes at most.
 */
import { gunzipSync } from 'node:zlib';

/** The compression a file name's ending names. */
export type Compression = 'xz' | 'gz' | 'zst' | 'none';

export function compressionOf(name: string): Compression {
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.gz')) return 'gz';
  if (name.endsWith('.zst')) return 'zst';
  return 'none';
}

/**
 * xz-decompressed bytes. With `size` (what a Release says the plain file is) they are written
 * straight into one buffer of that size, so a 50 MB index costs 50 MB, not the chunks and
 * then their concatenation; more than `size` falls back to collecting chunks.
 */
async function unxz(data: Buffer, size?: number): Promise<Buffer> {
  const input = new globalThis.ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      c.close();
    },
  });
  // Loaded when first needed, as is fzstd: other commands start without them.
  const { default: xz } = await import('xz-decompress');
  const reader = new xz.XzReadableStream(input).getReader();
  let out = size !== undefined && size > 0 ? Buffer.allocUnsafe(size) : undefined;
  let n = 0;
  const parts: Buffer[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (out && n + value.byteLength <= out.length) {
      out.set(value, n);
      n += value.byteLength;
    } else {
      if (out) parts.push(out.subarray(0, n));
      out = undefined;
      parts.push(Buffer.from(value));
    }
  }
  return out ? out.subarray(0, n) : Buffer.concat(parts);
}

/** The bytes decompressed; a damaged stream throws. `size`: the size they should have, when known. */
export async function decompress(data: Buffer, how: Compression, size?: number): Promise<Buffer> {
  switch (how) {
    case 'none':
      return data;
    case 'gz':
      return gunzipSync(data);
    case 'zst':
      return Buffer.from((await import('fzstd')).decompress(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    case 'xz':
      return unxz(data, size);
  }
}
