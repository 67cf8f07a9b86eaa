import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ShaleError } from '../errors.js';
import { layerEntries, type TarEntry } from '../layer/read-entries.js';
import { ELF_HEAD_BYTES, readElfHeader, type ElfHeader } from './elf.js';

export { normalizeTarPath } from '../layer/read-entries.js';

/** One entry of a layer tar, as the checks need it (contents are not kept). */
export interface LayerEntry {
  /** Absolute, normalized: "/usr/bin/python3". */
  path: string;
  type: TarEntry['type'];
  mode: number;
  /** Symlink target as written, or the path a hard link refers to. */
  linkname?: string;
  /** Set for regular files that are ELF. */
  elf?: ElfHeader;
  /** sha256 (hex) of a regular file's bytes: two layers may ship the same file (namespace `__init__.py`). */
  sha256?: string;
  /**
   * The text of the few files the checks read (see {@link keepsText}): /etc/passwd and /etc/group
   * whole, a `.dist-info/METADATA` up to the end of its headers, a `.pth` file of a site directory
   * whole, dpkg's status file and status.d paragraphs whole.
   */
  text?: string;
}

/** Files whose text the checks read; larger ones are not kept. */
const TEXT_LIMIT = 1 << 20;
/** A `.pth` file holds a few lines; a bigger one (a model's weights named `.pth`) is not a path file worth reading. */
const PTH_LIMIT = 64 << 10;
/** A `.pth` file directly in a site directory (site.py reads no others). */
const PTH_FILE = /\/(site|dist)-packages\/[^/]+\.pth$/;
/** dpkg's records: the status file, and distroless' status.d paragraphs (not their .md5sums). */
const DPKG_RECORD = /^\/var\/lib\/dpkg\/(status|status\.d\/[^/]+)$/;
/** A status file lists every package of the system: a few MB on a big one. */
const DPKG_LIMIT = 16 << 20;
export const keepsText = (path: string): 'whole' | 'headers' | undefined =>
  path === '/etc/passwd' || path === '/etc/group' || PTH_FILE.test(path) || (DPKG_RECORD.test(path) && !path.endsWith('.md5sums'))
    ? 'whole'
    : /\.dist-info\/METADATA$/.test(path)
      ? 'headers'
      : undefined;
const textLimit = (path: string): number => (PTH_FILE.test(path) ? PTH_LIMIT : DPKG_RECORD.test(path) ? DPKG_LIMIT : TEXT_LIMIT);

/**
 * Lists a gzip'd layer's entries (through the one layer reader, `layer/read-entries.ts`), with
 * each file's sha256 and its first bytes (for its ELF header). Nothing is written to disk.
 */
export async function readLayerEntries(open: () => Promise<Readable>, where: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  try {
    for await (const entry of layerEntries({ open })) {
      const e: LayerEntry = { path: entry.path, type: entry.type, mode: entry.mode };
      if (entry.linkname !== undefined) e.linkname = entry.linkname;
      if (entry.type === 'file') {
        const head: Buffer[] = [];
        let have = 0;
        const hash = createHash('sha256');
        const keep = entry.size <= textLimit(entry.path) ? keepsText(entry.path) : undefined;
        for await (const chunk of entry.body) {
          hash.update(chunk);
          if (have < ELF_HEAD_BYTES || keep) {
            head.push(chunk);
            have += chunk.length;
          }
        }
        if (keep) {
          const text = Buffer.concat(head).toString('utf8');
          const end = keep === 'headers' ? text.search(/\r?\n\r?\n/) : -1;
          e.text = end < 0 ? text : text.slice(0, end + 1);
        }
        const elf = readElfHeader(Buffer.concat(head));
        if (elf) e.elf = elf;
        e.sha256 = hash.digest('hex');
      }
      out.push(e);
    }
  } catch (err) {
    throw new ShaleError('SHALE_BAD_LAYER', `reading ${where}: it is not a readable gzip'd tar (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  return out;
}
