import type { Header } from 'tar-stream';
import { pack as tarPack } from 'tar-stream';

/** One tar entry: its header, and a file's content. */
export interface TarEntry {
  header: Partial<Header> & { name: string };
  data?: Buffer | string;
}

/** An uncompressed tar of `entries`, in memory, built with tar-stream (never shale's own src). */
export async function tarBuffer(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((ok, fail) => {
    p.on('end', ok);
    p.on('error', fail);
  });
  for (const e of entries) {
    if (e.data === undefined) p.entry(e.header);
    else p.entry(e.header, Buffer.from(e.data));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
