import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ShaleError } from '../errors.js';

/** The errno codes a write fails with when the file system, not shale, is at fault. */
const FULL = new Set(['ENOSPC', 'EDQUOT']);
const DENIED = new Set(['EACCES', 'EPERM']);

const errnoCode = (err: unknown): string | undefined => {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Whether a write failed because the disk is full, the directory is not writable or the file
 * system is read-only: the user can fix these, so they become a {@link writeFailure}.
 */
export function isDiskError(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && (FULL.has(code) || DENIED.has(code) || code === 'EROFS');
}

/**
 * Turns a full disk, a permission refused or a read-only file system met while writing `path`
 * into a ShaleError (exit 1) that names the path and `dir`, the directory to free or fix
 * (shale's cache directory, an OCI layout, a tarball's directory). Node's own message names no
 * path for a failed write ("ENOSPC: no space left on device, write"), so without this the user
 * cannot tell which disk filled up. Any other error is returned unchanged.
 */
export function writeFailure(err: unknown, path: string, dir: string): unknown {
  const code = errnoCode(err);
  if (code === undefined || err instanceof ShaleError) return err;
  if (FULL.has(code)) {
    const what = code === 'EDQUOT' ? 'the disk quota is used up' : 'no space is left on the device';
    return new ShaleError(
      'SHALE_DISK_FULL',
      `cannot write ${path}: ${what} (${code}). Free space in ${dir} (\`shale cache prune --max-size 1GB\` shrinks shale's cache) or use a directory on a disk with room, and run again.`,
      { cause: err },
    );
  }
  if (DENIED.has(code)) {
    const who = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
    return new ShaleError(
      'SHALE_NOT_WRITABLE',
      `cannot write ${path}: permission denied (${code}). Give this user${who} write permission on ${dir} and everything under it (e.g. \`chown -R "$(id -u)" ${dir}\`), or use another directory.`,
      { cause: err },
    );
  }
  if (code === 'EROFS') {
    return new ShaleError('SHALE_READ_ONLY', `cannot write ${path}: ${dir} is on a read-only file system (EROFS). Use a directory on a writable disk.`, {
      cause: err,
    });
  }
  return err;
}

/** The codes of the errors {@link writeFailure} makes. */
const FAILURE_CODES = new Set(['SHALE_DISK_FULL', 'SHALE_NOT_WRITABLE', 'SHALE_READ_ONLY']);

/** Whether an error is one {@link writeFailure} made (the disk, not the data, is at fault). */
export const isWriteFailure = (err: unknown): err is ShaleError => err instanceof ShaleError && FAILURE_CODES.has(err.code);

/**
 * `mkdir -p`, with a full disk or a refused permission reported by {@link writeFailure}. Node's
 * recursive mkdir reports ENOENT where a read-only file system or a full disk refused a
 * parent, so on ENOENT the directories are made one by one to learn the real cause.
 */
export async function makeDir(path: string, dir: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (err) {
    throw writeFailure(errnoCode(err) === 'ENOENT' ? await realCause(path, err) : err, path, dir);
  }
}

/** The error of the first directory on the way to `path` that cannot be made. */
async function realCause(path: string, fallback: unknown): Promise<unknown> {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    const exists = await stat(p).then(
      () => true,
      () => false,
    );
    if (exists || dirname(p) === p) break;
    missing.unshift(p);
  }
  for (const p of missing) {
    try {
      await mkdir(p);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') return err;
    }
  }
  return fallback;
}
