/**
 * Reading trees of host files for a layer without letting anything else in: symlinks are never
 * followed but stored, and only when they point inside the project; names that are not UTF-8
 * are refused; every file-system call goes through a fixed budget of descriptors, whatever the
 * number of files.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { InputError } from '../errors.js';
import { mapLimit } from '../limit.js';

/**
 * How many file-system calls (each holding at most one descriptor) run at once while walking,
 * stat-ing and hashing host files: enough to keep the disk and the thread pool busy, far below
 * any descriptor limit (`ulimit -n` is often 1024, sometimes 256), and memory stays bounded.
 */
export const FS_BUDGET = 32;

/** Whether `p` is `root` or under it (both absolute, resolved the same way). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The name as a string, or undefined when its bytes are not valid UTF-8. */
export function utf8Name(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A name for messages: valid UTF-8 as it is, every other byte (and every control character,
 * which could move a terminal's cursor) as \xNN.
 */
export function printableName(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const n = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    const s = n && i + n <= bytes.length ? utf8Name(bytes.subarray(i, i + n)) : undefined;
    if (s === undefined || /[\u0000-\u001f\u007f-\u009f]/.test(s)) {
      out += `\\x${lead.toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += s;
      i += n;
    }
  }
  return out;
}

/** What a walk does with an entry: take it, leave it out (and all under it), or leave a directory out but look inside it. */
export type Verdict = 'in' | 'out' | 'look';

/** One entry found by {@link walkTree}. */
export type TreeItem =
  | { kind: 'dir'; rel: string; abs: string }
  | { kind: 'file'; rel: string; abs: string; mode: number; size: number }
  /** A symlink whose target resolves inside the project; `target` as written (relative). */
  | { kind: 'symlink'; rel: string; abs: string; target: string }
  /** A symlink whose target does not exist: nothing to store, the caller reports it. */
  | { kind: 'dangling'; rel: string; abs: string; target: string };

/** How {@link walkTree} judges and names what it finds. */
export interface WalkOptions {
  /** The project directory, symlinks resolved: no symlink may point out of it. */
  root: string;
  /** Decides per entry (`rel` from the walk's start; a name that is not UTF-8 is decoded lossily). */
  choose: (rel: string, isDir: boolean) => Verdict;
  /** Names a path for messages ("app/x", "libs/core/x"): from the walk-relative path. */
  label: (rel: string) => string;
  /** What the user can do about an entry that is refused ("leave it out with a pattern in .shaleignore"). */
  fix: string;
}

interface Pending {
  rel: string;
  abs: string;
  link: boolean;
}

/**
 * Lists the tree under `start` (a real directory inside `root`) breadth first, FS_BUDGET calls at
 * a time: directories, regular files with their mode and size, and symlinks, which are never
 * followed. A symlink must resolve inside `root` and be written relative (an absolute target
 * would point elsewhere in the image, and differ between checkouts); a loop, an outside target
 * or a name that is not UTF-8 is an InputError naming the entry. Sockets, FIFOs and devices are
 * skipped: they have no content to copy. Errors are thrown in path order, not in the order the
 * calls happen to finish, so the same tree always gives the same message.
 */
export async function walkTree(start: string, opts: WalkOptions): Promise<TreeItem[]> {
  const out: TreeItem[] = [];
  let level: { rel: string; abs: string }[] = [{ rel: '', abs: start }];
  while (level.length) {
    const listed = await mapLimit(level, FS_BUDGET, async (d) => ({ d, names: sortByName(await list(d.abs, opts.label(d.rel), opts.fix)) }));
    const next: { rel: string; abs: string }[] = [];
    const leaves: Pending[] = [];
    for (const { d, names } of listed) {
      for (const ent of names) {
        const name = utf8Name(ent.name);
        const isDir = ent.isDirectory();
        const rel = d.rel ? `${d.rel}/${name ?? ent.name.toString('utf8')}` : (name ?? ent.name.toString('utf8'));
        const verdict = opts.choose(rel, isDir);
        if (verdict === 'out') continue;
        if (name === undefined) {
          if (verdict === 'look') continue; // left out anyway; nothing under it can be named by a pattern reliably
          const shown = (d.rel ? `${d.rel}/` : '') + printableName(ent.name);
          throw new InputError(
            'SHALE_NAME_NOT_UTF8',
            `${opts.label(shown)} has a name that is not valid UTF-8 (shown with \\xNN for the bytes that are not); image layers name files in UTF-8 and Python cannot import such a name: rename it to UTF-8 (convmv -f latin1 -t utf-8 --notest does it in place), or ${opts.fix}`,
          );
        }
        const abs = join(d.abs, name);
        if (isDir) {
          if (verdict === 'in') out.push({ kind: 'dir', rel, abs });
          next.push({ rel, abs });
        } else if (verdict === 'in' && (ent.isFile() || ent.isSymbolicLink())) {
          leaves.push({ rel, abs, link: ent.isSymbolicLink() });
        }
      }
    }
    const found = await mapLimit(leaves, FS_BUDGET, (p) =>
      leaf(p, opts).then(
        (item) => ({ item }),
        (error: unknown) => ({ error }),
      ),
    );
    for (const f of found) {
      if ('error' in f) throw f.error;
      out.push(f.item);
    }
    level = next;
  }
  return out;
}

async function list(dir: string, label: string, fix: string): Promise<Dirent<Buffer>[]> {
  try {
    return await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    throw new InputError('SHALE_PATH_UNREADABLE', `cannot read the directory ${label}: ${(e as Error).message}; fix its permissions, or ${fix}`);
  }
}

function sortByName(ents: Dirent<Buffer>[]): Dirent<Buffer>[] {
  return ents.sort((a, b) => Buffer.compare(a.name, b.name));
}

async function leaf(p: Pending, opts: WalkOptions): Promise<TreeItem> {
  if (!p.link) {
    const st = await lstat(p.abs);
    return { kind: 'file', rel: p.rel, abs: p.abs, mode: st.mode & 0o777, size: st.size };
  }
  const raw = await readlink(p.abs, { encoding: 'buffer' });
  const target = utf8Name(raw);
  if (target === undefined) {
    throw new InputError(
      'SHALE_NAME_NOT_UTF8',
      `${opts.label(p.rel)} is a symlink to "${printableName(raw)}", a name that is not valid UTF-8 (shown with \\xNN); image layers name files in UTF-8: point it at a UTF-8 name, or ${opts.fix}`,
    );
  }
  const real = await followLink(p.abs, opts.label(p.rel), target, opts.fix);
  if (real === undefined) return { kind: 'dangling', rel: p.rel, abs: p.abs, target };
  if (!isInside(opts.root, real)) {
    throw new InputError(
      'SHALE_PATH_OUTSIDE',
      `${opts.label(p.rel)} is a symlink to "${target}", which resolves to ${real}, outside the project directory ${opts.root}; shale stores symlinks as symlinks only when they point inside the project, so no host file gets into the image through one: copy what it points at into the project, or ${opts.fix}`,
    );
  }
  if (isAbsolute(target)) {
    const suggestion = relative(dirname(p.abs), real) || '.';
    throw new InputError(
      'SHALE_SYMLINK_ABSOLUTE',
      `${opts.label(p.rel)} is a symlink to the absolute path "${target}"; in the image that path does not hold the project's file, and it differs between checkouts: make it relative (ln -sfn ${suggestion} <link>), or ${opts.fix}`,
    );
  }
  return { kind: 'symlink', rel: p.rel, abs: p.abs, target };
}

/**
 * The real path a symlink leads to, or undefined when it leads nowhere (dangling). A loop (or a
 * chain too deep to follow) is an InputError naming the link.
 */
export async function followLink(abs: string, label: string, target: string, fix: string): Promise<string | undefined> {
  try {
    return await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP')
      throw new InputError(
        'SHALE_SYMLINK_LOOP',
        `${label} is a symlink to "${target}" that never resolves (a loop of symlinks, or a chain too long to follow); fix or remove it, or ${fix}`,
      );
    throw new InputError(
      'SHALE_PATH_UNREADABLE',
      `cannot follow the symlink ${label} (to "${target}"): ${(e as Error).message}; fix its permissions or remove it, or ${fix}`,
    );
  }
}
