import { Readable } from 'node:stream';

/**
 * One file-system entry of a layer, before it is written as tar. Paths are POSIX, relative to
 * the image root, without a leading slash ("usr/local/lib/python3.11/site-packages/x.py").
 * The tar writer adds parent directories, sorts entries and normalizes owners, modes and times.
 */
export type Entry = FileEntry | DirEntry | SymlinkEntry;

/**
 * Ownership and permission bits written exactly as given, not normalized: the `users` layer's
 * account files (/etc/shadow is 0640 root:shadow) and directories a non-root user owns.
 */
export interface Owner {
  uid: number;
  gid: number;
  mode: number;
}

export interface FileEntry {
  type: 'file';
  path: string;
  /** Permission bits; normalized to 0o755 if any executable bit is set, else 0o644. */
  mode: number;
  size: number;
  /** Opens the file's content; called once, when the layer's bytes are actually needed. */
  open: () => Promise<Readable> | Readable;
  /** The host file the content comes from, when there is one (lets fingerprints reuse its hash). */
  source?: string;
  /** Exact owner and mode (else root and the normalized mode). */
  owner?: Owner;
}

export interface DirEntry {
  type: 'dir';
  path: string;
  mode?: number;
  /** Exact owner and mode (else root, 0755). */
  owner?: Owner;
}

export interface SymlinkEntry {
  type: 'symlink';
  path: string;
  target: string;
}

/** A file entry with in-memory content. */
export function bufferEntry(path: string, data: Buffer | string, mode = 0o644): FileEntry {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return {
    type: 'file',
    path,
    mode,
    size: buf.length,
    open: () => Readable.from([buf]),
  };
}
