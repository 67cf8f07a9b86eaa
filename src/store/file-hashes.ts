import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Events } from '../events.js';
import { writeFileAtomic } from './atomic-file.js';
import { isNotFound } from './blob-store.js';
import { DamageReport, damageOf } from './cache-damage.js';
import { makeDir } from './disk-errors.js';

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
  private readonly file: string;
  private known: Promise<Map<string, Known>> | undefined;
  private readonly pending = new Map<string, Promise<string>>();
  private dirty = false;
  private readonly damage: DamageReport;

  /**
   * The hash cache of a cache directory (`root/file-hashes.json`); one per run, from the run's
   * Cache, so every reader shares what was hashed and one `save` keeps it. `events` hears that
   * a damaged file was ignored.
   */
  constructor(root: string, events?: Events) {
    this.file = join(root, 'file-hashes.json');
    this.damage = new DamageReport(events);
  }

  /**
   * Reads the file once. A damaged one (empty, cut short, garbage: a crash or a full disk) is
   * read as empty and rewritten at `save`, with a warning: it only saves work, so it must never
   * fail a build.
   */
  private load(): Promise<Map<string, Known>> {
    this.known ??= readFile(this.file, 'utf8').then(
      (text) => this.parse(text),
      (err: unknown) => {
        if (!isNotFound(err)) this.damaged(err instanceof Error ? err.message : String(err));
        return new Map<string, Known>();
      },
    );
    return this.known;
  }

  private parse(text: string): Map<string, Known> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      this.damaged(damageOf(text, err));
      return new Map();
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.damaged('it is not a JSON object');
      return new Map();
    }
    const known = new Map<string, Known>();
    let bad = 0;
    for (const [path, v] of Object.entries(raw as Record<string, unknown>)) {
      if (isKnown(v)) known.set(path, { key: v.key, sha256: v.sha256 });
      else bad++;
    }
    if (bad) this.damaged(`${bad} of its entries are not {key, sha256}`);
    return known;
  }

  private damaged(problem: string): void {
    this.dirty = true; // rewritten at save, even when nothing new was hashed
    this.damage.damaged(this.file, 'file-hash cache', problem);
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

  /**
   * Writes what was learned (atomically; the last of two concurrent writers wins, both are
   * valid). A full disk or a refused permission is a ShaleError naming the cache directory.
   */
  async save(): Promise<void> {
    if (!this.dirty || !this.known) return;
    const known = await this.known;
    await makeDir(dirname(this.file), dirname(this.file));
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(known)));
    this.dirty = false;
  }
}

const isKnown = (v: unknown): v is Known =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Known).key === 'string' &&
  typeof (v as Known).sha256 === 'string' &&
  /^[0-9a-f]{64}$/.test((v as Known).sha256);
