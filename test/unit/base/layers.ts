// Small base-image layers for the base-fact tests: tar+gzip in memory, with every open counted.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Layer } from '../../../src/oci/image.js';
import { tarBuffer } from '../../support/tar.js';

/** A file (data), directory (name ends in /), symlink (linkname) or hard link (hardlink). */
export type Item = { name: string; data?: Buffer | string; linkname?: string; hardlink?: string };

/** A gzip'd layer of `items`; each open pushes `label` onto `opened`. */
export async function layer(items: readonly Item[], opened: string[] = [], label = 'layer'): Promise<Pick<Layer, 'descriptor' | 'open'> & { bytes: Buffer }> {
  const tar = await tarBuffer(
    items.map((it) => {
      if (it.linkname !== undefined) return { header: { name: it.name, type: 'symlink' as const, linkname: it.linkname } };
      if (it.hardlink !== undefined) return { header: { name: it.name, type: 'link' as const, linkname: it.hardlink } };
      if (it.name.endsWith('/')) return { header: { name: it.name, type: 'directory' as const, mode: 0o755 } };
      return { header: { name: it.name, mode: 0o755 }, data: it.data ?? '' };
    }),
  );
  const bytes = gzipSync(tar);
  return {
    bytes,
    descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'0'.repeat(64)}`, size: bytes.length },
    open: async () => {
      opened.push(label);
      return Readable.from([bytes]);
    },
  };
}

/** Debian bookworm's python3 as the e2e base has it (python3 → python3.11, its stdlib, dist-packages). */
export const DEBIAN_PYTHON: readonly Item[] = [
  { name: 'etc/debian_version', data: '12.7\n' },
  { name: 'usr/bin/python3', linkname: 'python3.11' },
  { name: 'usr/bin/python3.11', data: '\x7fELF python' },
  { name: 'usr/lib/python3/' },
  { name: 'usr/lib/python3/dist-packages/' },
  { name: 'usr/lib/python3.11/' },
  { name: 'usr/lib/python3.11/os.py', data: '# os\n' },
  { name: 'usr/local/lib/python3.11/dist-packages/' },
];

/** A CPython built into /usr/local, as the official images have it (without their PYTHON_VERSION). */
export const LOCAL_PYTHON = (minor: number): Item[] => [
  { name: 'usr/local/bin/python3', linkname: `python3.${minor}` },
  { name: `usr/local/bin/python3.${minor}`, data: '\x7fELF python' },
  { name: `usr/local/lib/python3.${minor}/os.py`, data: '# os\n' },
];
