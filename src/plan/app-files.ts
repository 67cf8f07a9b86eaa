import { constants } from 'node:fs';
import { lstat, open as openFile, readFile, readlink, realpath } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import type { AppSource } from '../config/spec.js';
import { InputError } from '../errors.js';
import type { Entry } from '../layer/entry.js';
import type { Events } from '../events.js';
import { defaultExcludeRules, defaultExcludes, newIgnore } from './excludes.js';
import { followLink, isInside, walkTree, type Verdict } from './host-paths.js';

/** The ignore files of a project, read in this order (a later rule wins). */
const IGNORE_FILES = ['.dockerignore', '.shaleignore'];

/** What the user can do about an app file shale refuses. */
const APP_FIX = 'leave it out of the app with a pattern in .shaleignore (or .dockerignore)';

/**
 * The user's ignore rules: .dockerignore, .shaleignore, then `exclude` from the config. An
 * ignore file that exists but cannot be read is an error rather than no rules, since reading
 * none would let in what it keeps out; one that is a symlink must point inside the project.
 */
export async function projectIgnore(projectDir: string, exclude: readonly string[]): Promise<string[]> {
  const root = await realpath(projectDir);
  const lines: string[] = [];
  for (const f of IGNORE_FILES) {
    const text = await readIgnoreFile(root, f);
    lines.push(
      ...text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  return [...lines, ...exclude];
}

async function readIgnoreFile(root: string, name: string): Promise<string> {
  const file = join(root, name);
  const st = await lstat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new InputError('SHALE_IGNORE_UNREADABLE', `cannot read ${file}: ${e.message}; fix its permissions or remove it`);
  });
  if (!st) return '';
  if (st.isSymbolicLink()) {
    const target = await readlink(file);
    const real = await followLink(file, file, target, `replace it with a file of rules`);
    if (real === undefined)
      throw new InputError(
        'SHALE_IGNORE_UNREADABLE',
        `${file} is a symlink to "${target}", which does not exist, so its rules cannot be read; point it at a file or remove it`,
      );
    if (!isInside(root, real)) {
      throw new InputError(
        'SHALE_PATH_OUTSIDE',
        `${file} is a symlink to "${target}", which resolves to ${real}, outside the project directory ${root}; shale reads only files inside the project: copy the rules into ${name}`,
      );
    }
  }
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError('SHALE_IGNORE_UNREADABLE', `cannot read ${file}: ${(e as Error).message}; make it a readable file or remove it`);
  }
}

/** The literal start of a pattern, up to its first wildcard or escape. */
const literalPrefix = (pattern: string): string => pattern.slice(0, pattern.search(/[*?[\\]|$/));

/**
 * Walks the app sources and returns the layer entries (files read lazily from disk). Files
 * matched by the ignore files are skipped quietly; files matched by a default exclude are
 * skipped and reported, so a user sees that their `.env` stayed out, unless a `!pattern` of the
 * ignore files takes them back (Docker's rule: the last matching line wins). Symlinks are kept
 * as symlinks, never followed, and must point inside the project; see host-paths.ts.
 */
export async function collectFiles(projectDir: string, sources: readonly AppSource[], exclude: readonly string[], events: Events): Promise<Entry[]> {
  const root = await realpath(projectDir);
  const userLines = await projectIgnore(root, exclude);
  const user = newIgnore().add(userLines);
  // Defaults first, so a `!pattern` of the user's comes later and wins.
  const rules = newIgnore().add(defaultExcludeRules()).add(userLines);
  const defaults = defaultExcludes();
  const reincludes = userLines.filter((l) => l.startsWith('!')).map((l) => literalPrefix(posix.normalize(l.slice(1).trim()).replace(/^\/+/, '')));
  // A left-out directory is walked only when a `!pattern` could take back something under it.
  const mayReinclude = (dir: string): boolean => reincludes.some((lit) => lit.startsWith(`${dir}/`) || `${dir}/`.startsWith(lit));
  const looked = new Set<string>();
  const notes: { path: string; rule: string }[] = [];
  const entries: Entry[] = [];
  const toRel = (abs: string) => relative(root, abs).split(sep).join('/');

  const choose = (rel: string, isDir: boolean): Verdict => {
    if (!rules.ignores(rel)) return 'in';
    // Inside a left-out directory that is walked for `!patterns`, what stays out was reported with it.
    // `.shale/` is shale's own output: leaving it out is no news.
    const rule = defaults.match(rel);
    if (!looked.has(posix.dirname(rel)) && !user.ignores(rel) && rule !== '.shale')
      notes.push({ path: rel + (isDir ? '/' : ''), rule: `default exclude ${rule ?? ''}`.trim() });
    if (isDir && mayReinclude(rel)) {
      looked.add(rel);
      return 'look';
    }
    return 'out';
  };

  for (const src of sources) {
    const to = src.to.replace(/^\/+/, '').replace(/\/+$/, '');
    const from = await realpath(src.from);
    if (!isInside(root, from)) {
      throw new InputError(
        'SHALE_PATH_OUTSIDE',
        `the app source ${src.from} resolves to ${from}, outside the project directory ${root}; only files inside the project can go into the image`,
      );
    }
    const base = toRel(from);
    if (src.kind === 'file') {
      const st = await lstat(from);
      if (st.isFile()) entries.push(fileEntry(to, from, st.mode & 0o777, st.size));
      continue;
    }
    if (to) entries.push({ type: 'dir', path: to });
    const label = (rel: string) => (base ? `${base}/${rel}` : rel) || '.';
    const items = await walkTree(from, { root, choose: (rel, isDir) => choose(base ? `${base}/${rel}` : rel, isDir), label, fix: APP_FIX });
    for (const item of items) {
      const path = to ? `${to}/${item.rel}` : item.rel;
      if (item.kind === 'dir') entries.push({ type: 'dir', path });
      else if (item.kind === 'file') entries.push(fileEntry(path, item.abs, item.mode, item.size));
      else if (item.kind === 'symlink') entries.push({ type: 'symlink', path, target: item.target });
      else {
        events({
          type: 'log',
          level: 'warn',
          message: `left out ${label(item.rel)}: it is a symlink to "${item.target}", which does not exist (shale stores a symlink only when its target does); remove it, or create it when the container starts`,
        });
      }
    }
  }
  notes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const n of notes) events({ type: 'excluded', path: n.path, rule: n.rule });
  return entries;
}

/** A host file as a layer entry; opened without following a symlink put in its place since the walk. */
function fileEntry(path: string, abs: string, mode: number, size: number): Entry {
  const open = async () => (await openFile(abs, constants.O_RDONLY | constants.O_NOFOLLOW)).createReadStream();
  return { type: 'file', path, mode, size, open, source: abs };
}
