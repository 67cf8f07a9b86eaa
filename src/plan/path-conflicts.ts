/**
 * Paths that two of shale's layers (or two packages of one layer) write differently. In an
 * image the upper layer's entry silently replaces the lower one's, so a wheel that ships
 * `six.py` would replace the real six's module, and which one wins would depend on how
 * packages happen to fall into layers. Identical files are fine (legacy namespace packages ship
 * the same `google/__init__.py` in several distributions), and so are shared directories.
 */
import { InputError } from '../errors.js';
import type { EntryInput } from './fingerprint.js';

/** Who writes a set of paths: one package of a package layer, or a whole file layer. */
export interface PathOwner {
  /** The layer that holds the paths. */
  layer: string;
  /** How a message names it: "six 1.16.0", "the app", "the local libraries libs/core". */
  label: string;
  /** A third-party package (the advice differs from a file of the project's own). */
  package: boolean;
}

/** The paths one owner writes, as fingerprints see them (path, kind, content hash). */
export interface ClaimSet {
  owner: PathOwner;
  files: readonly EntryInput[];
}

/** What one owner puts at a path. */
export interface Claim {
  owner: PathOwner;
  /** "f644", "f755", "l" or "d" (see EntryInput). */
  kind: string;
  content: string;
  /** For a directory only implied by a deeper path: that path (for the message). */
  needs?: string;
}

/** One path two owners write differently: `first` from the lower layer, `second` above it. */
export interface PathConflict {
  path: string;
  first: Claim;
  second: Claim;
}

const parentOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/')));

/**
 * Every path written differently by two owners, in layer order (the sets should come lowest
 * layer first). Different means another kind (file, executable file, symlink, directory) or
 * other content (sha256, or a symlink's target); a directory a path needs counts as written by
 * its owner, so a file in one set where another needs a directory is a conflict too.
 */
export function findPathConflicts(sets: readonly ClaimSet[]): PathConflict[] {
  const held = new Map<string, Claim>();
  const found: PathConflict[] = [];
  // Walks up from `path` claiming directories; stops at the first one already held (its own
  // parents were claimed when it was), so each path costs about one lookup.
  const claimDirs = (path: string, owner: PathOwner, needs?: string): void => {
    for (let p = path; p !== ''; p = parentOf(p)) {
      const prev = held.get(p);
      const claim: Claim = needs === undefined || needs === p ? { owner, kind: 'd', content: '' } : { owner, kind: 'd', content: '', needs };
      if (!prev) {
        held.set(p, claim);
        continue;
      }
      if (prev.kind !== 'd') found.push({ path: p, first: prev, second: claim });
      return;
    }
  };
  for (const { owner, files } of sets) {
    for (const f of files) {
      if (f.kind === 'd') {
        claimDirs(f.path, owner);
        continue;
      }
      const prev = held.get(f.path);
      if (!prev) held.set(f.path, { owner, kind: f.kind, content: f.content });
      else if (prev.owner !== owner && (prev.kind !== f.kind || prev.content !== f.content)) {
        found.push({ path: f.path, first: prev, second: { owner, kind: f.kind, content: f.content } });
      }
      claimDirs(parentOf(f.path), owner, f.path);
    }
  }
  return found;
}

/** Throws the error for the conflicts among `sets`, if there are any. */
export function checkPathConflicts(sets: readonly ClaimSet[]): void {
  const found = findPathConflicts(sets);
  if (found.length) throw pathConflictError(found);
}

const where = (o: PathOwner): string => `${o.label} (layer "${o.layer}")`;

function what(c: Claim): string {
  if (c.kind === 'd') return c.needs === undefined ? 'a directory' : `a directory (for /${c.needs})`;
  if (c.kind === 'l') return `a symlink to ${c.content}`;
  if (c.kind.includes(':')) return `a file (mode and owner ${c.kind.slice(1)})`;
  return c.kind === 'f755' ? 'an executable file' : 'a file';
}

function difference(c: PathConflict): string {
  const { first: a, second: b } = c;
  const files = (k: string) => k === 'f644' || k === 'f755';
  if (a.kind === b.kind) return `both write /${c.path}, with different ${a.kind === 'l' ? 'targets' : 'contents'}`;
  if (files(a.kind) && files(b.kind) && a.content === b.content) {
    return `both write /${c.path}, with the same contents but executable only in ${(a.kind === 'f755' ? a : b).owner.label}`;
  }
  return `write /${c.path} as ${what(a)} (${a.owner.label}) and as ${what(b)} (${b.owner.label})`;
}

function advice(a: PathOwner, b: PathOwner): string {
  if (a.package && b.package) {
    return `Pin a version of one of them that does not ship this path, or drop one of the packages (often one is a fork, a stub or a renamed copy of the other; pip would leave whichever it wrote last)`;
  }
  const ours = [a, b].filter((o) => !o.package).map((o) => o.label);
  const pkg = [a, b].find((o) => o.package);
  return `Remove or rename the path in ${ours.join(' or ')}${pkg ? `, or drop ${pkg.label}` : ''}`;
}

/**
 * The InputError for conflicts: the first pair of owners in full (paths, how they differ, what
 * to do), then how many paths and other pairs there are. Layer order cannot say which file was
 * meant, so no layering choice resolves it.
 */
export function pathConflictError(conflicts: readonly PathConflict[]): InputError {
  const pairs = new Map<string, PathConflict[]>();
  for (const c of conflicts) {
    const key = `${c.first.owner.layer}\0${c.first.owner.label}\0${c.second.owner.layer}\0${c.second.owner.label}`;
    pairs.set(key, [...(pairs.get(key) ?? []), c]);
  }
  const [first, ...others] = [...pairs.values()];
  const c = first![0]!;
  const a = c.first.owner;
  const b = c.second.owner;
  const who = a.layer === b.layer ? `${a.label} and ${b.label} (both in layer "${a.layer}")` : `${where(a)} and ${where(b)}`;
  const more =
    first!.length > 1
      ? ` (and ${first!.length - 1} more path${first!.length > 2 ? 's' : ''}: ${first!
          .slice(1, 4)
          .map((x) => `/${x.path}`)
          .join(', ')}${first!.length > 4 ? ', ...' : ''})`
      : '';
  const silently =
    a.layer === b.layer
      ? 'one layer can hold only one of them'
      : `the upper layer's entry would silently replace the other in the image, and which one wins would depend only on layering`;
  const rest = others.length
    ? ` Also: ${others
        .slice(0, 3)
        .map((g) => `${g[0]!.first.owner.label} and ${g[0]!.second.owner.label} on /${g[0]!.path}${g.length > 1 ? ` (+${g.length - 1})` : ''}`)
        .join('; ')}${others.length > 3 ? `; and ${others.length - 3} more pairs` : ''}.`
    : '';
  return new InputError('SHALE_LAYER_CONFLICT', `${who} ${difference(c)}${more}; ${silently}. ${advice(a, b)}.${rest}`);
}
