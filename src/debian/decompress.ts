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

async function unxz(data: Buffer): Promise<Buffer> {
  const input = new globalThis.ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      c.close();
    },
  });
  // Loaded when first needed, as is fzstd: other commands start without them.
  const { default: xz } = await import('xz-decompress');
  const reader = new xz.XzReadableStream(input).getReader();
  const parts: Buffer[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** The bytes decompressed; a damaged stream throws. */
export async function decompress(data: Buffer, how: Compression): Promise<Buffer> {
  switch (how) {
    case 'none':
      return data;
    case 'gz':
      return gunzipSync(data);
    case 'zst':
      return Buffer.from((await import('fzstd')).decompress(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    case 'xz':
      return unxz(data);
  }
}
