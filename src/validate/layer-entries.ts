import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { ShaleError } from '../errors.js';
import { ELF_HEAD_BYTES, readElfHeader, type ElfHeader } from './elf.js';

/** One entry of a layer tar, as the checks need it (contents are not kept). */
export interface LayerEntry {
  /** Absolute, normalized: "/usr/bin/python3". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  mode: number;
  /** Symlink target as written, or the path a hard link refers to. */
  linkname?: string;
  /** Set for regular files that are ELF. */
  elf?: ElfHeader;
  /** sha256 (hex) of a regular file's bytes: two layers may ship the same file (namespace `__init__.py`). */
  sha256?: string;
}

/** "./usr/bin/" → "/usr/bin"; "" and "./" → "/". */
export function normalizeTarPath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return `/${parts.join('/')}`;
}

function entryType(t: string | null | undefined): LayerEntry['type'] {
  if (t === 'file' || t === 'contiguous-file') return 'file';
  if (t === 'directory') return 'dir';
  if (t === 'symlink' || t === 'link') return t;
  return 'other';
}

/**
 * Streams a gzip'd layer through tar-stream and lists its entries, with each file's sha256 and
 * its first bytes (for its ELF header). Nothing is written to disk.
 */
export async function readLayerEntries(open: () => Promise<Readable>, where: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const extract = tarExtract();
  try {
    const feeding = pipeline(await open(), createGunzip(), extract);
    feeding.catch(() => undefined); // also ends the iteration below, which reports it
    for await (const entry of extract) {
      const { header } = entry;
      const e: LayerEntry = { path: normalizeTarPath(header.name), type: entryType(header.type), mode: header.mode ?? 0 };
      if (header.linkname) e.linkname = e.type === 'link' ? normalizeTarPath(header.linkname) : header.linkname;
      const head: Buffer[] = [];
      let have = 0;
      const hash = e.type === 'file' ? createHash('sha256') : undefined;
      for await (const chunk of entry) {
        hash?.update(chunk as Buffer);
        if (have < ELF_HEAD_BYTES) {
          head.push(chunk as Buffer);
          have += (chunk as Buffer).length;
        }
      }
      if (e.type === 'file') {
        const elf = readElfHeader(Buffer.concat(head));
        if (elf) e.elf = elf;
        if (hash) e.sha256 = hash.digest('hex');
      }
      out.push(e);
    }
    await feeding;
  } catch (err) {
    throw new ShaleError('SHALE_BAD_LAYER', `reading ${where}: it is not a readable gzip'd tar (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return out;
}
