// Hand-made layers and ELF headers for the validate tests.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { readLayerEntries } from '../../../src/validate/layer-entries.js';
import type { LayerView } from '../../../src/validate/result.js';

export type Item = { name: string; data?: Buffer | string; mode?: number; type?: 'directory' | 'symlink'; linkname?: string };

/** A gzip'd layer tar made by hand, read back by the code under test. */
export async function layer(name: string, items: Item[], shale = true): Promise<LayerView> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => p.on('end', () => r()));
  for (const it of items) {
    const header: Partial<Header> & { name: string } = { name: it.name, mode: it.mode ?? (it.type === 'directory' ? 0o755 : 0o644), type: it.type ?? 'file' };
    if (it.linkname) header.linkname = it.linkname;
    const done = (res: () => void, rej: (e: Error) => void) => (e?: Error | null) => (e ? rej(e) : res());
    await new Promise<void>((res, rej) => (it.type ? p.entry(header, done(res, rej)) : p.entry(header, Buffer.from(it.data ?? ''), done(res, rej))));
  }
  p.finalize();
  await ended;
  const gz = gzipSync(Buffer.concat(chunks));
  const entries = await readLayerEntries(() => Promise.resolve(Readable.from([gz])), name);
  return { name, digest: `sha256:${name}`, shale, entries };
}

/** The first 20 bytes of an ELF file: magic, class, data (endianness), version, e_type, e_machine. */
export function elfHead(machine: number, opts: { bits?: 32 | 64; endian?: 'little' | 'big' } = {}): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.bits === 32 ? 1 : 2, opts.endian === 'big' ? 2 : 1, 1], 0);
  if (opts.endian === 'big') {
    b.writeUInt16BE(3, 16);
    b.writeUInt16BE(machine, 18);
  } else {
    b.writeUInt16LE(3, 16);
    b.writeUInt16LE(machine, 18);
  }
  return b;
}
