import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from './atomic-file.js';

interface Known {
  /** size, mtimeMs, ctimeMs and inode: any write to the file changes at least one. */
  key: string;
  sha256: string;
}

const keyOf = (st: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): string => `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;

/** sha256 (hex) of a file's content, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Content hashes of local files, remembered across runs in the cache directory and trusted only
 * while the file's size, mtime, ctime and inode are unchanged (git, rsync or an editor writing
 * the file change ctime). Reuse never depends on mtimes alone: a fresh checkout has new
 * stat data and is simply hashed again, giving the same content hash.
 */
export class FileHashes {
  private static readonly open_ = new Map<string, FileHashes>();
  private known: Promise<Map<string, Known>> | undefined;
  private readonly pending = new Map<string, Promise<string>>();
  private dirty = false;

  private constructor(private readonly file: string) {}

  /** The hash cache of a cache directory (one instance per directory and process). */
  static in(cacheDir: string): FileHashes {
    const file = join(cacheDir, 'file-hashes.json');
    let h = FileHashes.open_.get(file);
    if (!h) {
      h = new FileHashes(file);
      FileHashes.open_.set(file, h);
    }
    return h;
  }

  private load(): Promise<Map<string, Known>> {
    this.known ??= readFile(this.file, 'utf8').then(
      (t) => new Map(Object.entries(JSON.parse(t) as Record<string, Known>)),
      () => new Map<string, Known>(),
    );
    return this.known;
  }

  /** The sha256 (hex) and size of a file, from memory when its stat data is unchanged. */
  async hash(path: string): Promise<{ sha256: string; size: number }> {
    const st = await stat(path);
    const key = keyOf(st);
    const known = await this.load();
    const hit = known.get(path);
    if (hit?.key === key) return { sha256: hit.sha256, size: st.size };
    const inflightKey = `${path}\0${key}`;
    let p = this.pending.get(inflightKey);
    if (!p) {
      p = hashFile(path).then((sha256) => {
        known.set(path, { key, sha256 });
        this.dirty = true;
        return sha256;
      });
      this.pending.set(inflightKey, p);
      p.catch(() => this.pending.delete(inflightKey));
    }
    return { sha256: await p, size: st.size };
  }

  /** Writes what was learned (atomically; the last of two concurrent writers wins, both are valid). */
  async save(): Promise<void> {
    if (!this.dirty || !this.known) return;
    const known = await this.known;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(known)));
    this.dirty = false;
  }
}
