import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import type { AppSource } from '../config/spec.js';
import type { Entry } from '../layer/entry.js';
import type { Events } from '../events.js';

// The package's types declare an ES default export, but it is CommonJS (`module.exports = factory`):
// Node hands the factory itself to a default import, a bundler may hand `{ default: factory }`.
type Factory = typeof dockerignoreModule.default;
const dockerignore: Factory = (dockerignoreModule as { default?: Factory }).default ?? (dockerignoreModule as unknown as Factory);

/**
 * Files that never belong in an image unless the user says otherwise: secrets, VCS data,
 * caches, and PEP 751 locks (what they pin is installed and recorded already; keeping them out
 * lets a build from `shale lock`'s output give the same image as the build that resolved on
 * the spot). Matched at any depth.
 */
export const DEFAULT_EXCLUDES = ['.git', '.env', '.venv', '__pycache__', '*.pyc', '.shale', 'node_modules', '*.pem', 'id_rsa*', 'pylock.toml', 'pylock.*.toml'];

/** The ignore rules of a project: .dockerignore and .shaleignore, plus `exclude` from the config. */
export async function projectIgnore(projectDir: string, exclude: readonly string[]) {
  const ig = dockerignore({ ignorecase: false });
  for (const f of ['.dockerignore', '.shaleignore']) {
    const text = await readFile(join(projectDir, f), 'utf8').catch(() => '');
    ig.add(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  }
  ig.add([...exclude]);
  return ig;
}

const defaults = dockerignore({ ignorecase: false }).add(DEFAULT_EXCLUDES.flatMap((p) => [p, `**/${p}`]));

/**
 * Walks the app sources and returns the layer entries (read lazily from disk). Files matched by the ignore files are skipped; files matched only by a
 * default exclude are skipped and reported, so a user sees that their `.env` stayed out.
 */
export async function collectFiles(projectDir: string, sources: readonly AppSource[], exclude: readonly string[], events: Events): Promise<Entry[]> {
  const ig = await projectIgnore(projectDir, exclude);
  const entries: Entry[] = [];
  const toRel = (abs: string) => relative(projectDir, abs).split(sep).join('/');

  const addFile = async (abs: string, imagePath: string) => {
    const st = await lstat(abs);
    const path = imagePath.replace(/^\/+/, '');
    if (st.isSymbolicLink()) {
      entries.push({ type: 'symlink', path, target: await readlink(abs) });
    } else if (st.isFile()) {
      entries.push({ type: 'file', path, mode: st.mode & 0o777, size: st.size, open: () => createReadStream(abs), source: abs });
    }
  };

  const walk = async (dir: string, imageDir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const rel = toRel(abs);
      const st = await lstat(abs);
      if (ig.ignores(rel)) continue;
      if (defaults.ignores(rel)) {
        events({ type: 'excluded', path: rel + (st.isDirectory() ? '/' : ''), rule: 'default excludes' });
        continue;
      }
      const imagePath = `${imageDir}/${name}`;
      if (st.isDirectory()) {
        entries.push({ type: 'dir', path: imagePath.replace(/^\/+/, '') });
        await walk(abs, imagePath);
      } else {
        await addFile(abs, imagePath);
      }
    }
  };

  for (const src of sources) {
    const to = src.to.replace(/\/+$/, '');
    if (src.kind === 'dir') {
      if (to) entries.push({ type: 'dir', path: to.replace(/^\/+/, '') });
      await walk(src.from, to);
    } else {
      await addFile(src.from, to);
    }
  }
  return entries;
}
