/**
 * Directories a shale layer must write as the layers below have them. A layer's entry for a
 * directory sets its owner and mode, and a runtime gives a parent the layer has no entry for
 * root 0755 (podman's overlay storage does), so a layer holding `app/main.py` takes /app from a
 * base whose Dockerfile made `WORKDIR /app` for its own user, where a Dockerfile's COPY into it
 * would leave it theirs. So the directories that matter are written with the owner and mode
 * below: those of the users layer (the user's home, `writable`), and the base's WorkingDir and
 * the directories above it, the ones a base is known to have without reading its layers (read
 * once per base digest when the base sets a WorkingDir; src/base/etc-files.ts).
 */
import { posix } from 'node:path';
import { readBasePaths, type BasePaths } from '../base/etc-files.js';
import type { BaseSource } from '../base/facts.js';
import type { BaseRecords } from '../base/records.js';
import type { Events } from '../events.js';
import type { Entry, Owner } from '../layer/entry.js';

const strip = (p: string): string => p.replace(/^\/+|\/+$/g, '');

/** "a/b/c" (or "/a/b/c") → ["a", "a/b"] */
export const parentsOf = (p: string): string[] => {
  const parts = strip(p).split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
};

/** The base's WorkingDir and the directories above it, as absolute paths; none when unset or "/". */
export function baseWorkdirPaths(base: Pick<BaseSource, 'config'>): string[] {
  const w = posix.normalize(`/${base.config.config?.WorkingDir ?? ''}`);
  if (w === '/') return [];
  return [...parentsOf(w), strip(w)].map((p) => `/${p}`);
}

/**
 * The base's WorkingDir and the directories above it whose owner or mode is not root 0755, by
 * layer path, and the record of what was read (for the image), when the base sets a WorkingDir.
 * `known`: what the users layer read of the base in the same pass (src/plan/users-layer.ts).
 */
export async function baseWorkdirDirs(
  base: BaseSource,
  records: BaseRecords,
  noCache: boolean,
  events: Events,
  registry?: string,
  known?: BasePaths,
): Promise<{ dirs: Map<string, Owner>; record?: string }> {
  const paths = baseWorkdirPaths(base);
  const dirs = new Map<string, Owner>();
  if (!paths.length) return { dirs };
  // What an earlier read of this build already found (the users layer's, in the same pass), else the base.
  const { found, record } =
    known && paths.every((p) => known.has(p))
      ? { found: known, record: undefined }
      : await readBasePaths(base, paths, [], records, noCache, events, registry, 'working directory');
  for (const p of paths) {
    const f = found.get(p);
    const mode = (f?.mode ?? 0) & 0o7777;
    if (f?.type === 'dir' && (f.uid !== 0 || f.gid !== 0 || mode !== 0o755)) dirs.set(strip(p), { uid: f.uid, gid: f.gid, mode });
  }
  return record === undefined ? { dirs } : { dirs, record };
}

/** The directories a layer's entries own (the users layer's), by layer path. */
export function ownedDirs(entries: readonly Entry[]): Map<string, Owner> {
  const out = new Map<string, Owner>();
  for (const e of entries) if (e.type === 'dir' && e.owner) out.set(strip(e.path), e.owner);
  return out;
}

/**
 * The entries, with every directory of `dirs` they hold without an owner of their own, or need
 * as a parent, written with that owner and mode.
 */
export function keepLowerDirs(entries: readonly Entry[], dirs: ReadonlyMap<string, Owner>): Entry[] {
  if (!dirs.size) return [...entries];
  const out = entries.map((e) => {
    if (e.type !== 'dir' || e.owner) return e;
    const owner = dirs.get(strip(e.path));
    return owner ? { ...e, owner } : e;
  });
  const held = new Set(out.map((e) => strip(e.path)));
  const parents = new Set(out.flatMap((e) => parentsOf(e.path)));
  for (const d of [...parents].sort()) {
    const owner = dirs.get(d);
    if (owner && !held.has(d)) out.push({ type: 'dir', path: d, owner });
  }
  return out;
}
