import type { Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import type { Header, Pack } from 'tar-stream';
import { InputError } from '../errors.js';
import { pipeInto } from '../pipe.js';
import type { Entry, FileEntry } from './entry.js';

/** Options that fix every otherwise-variable field of a layer's tar. */
export interface TarOptions {
  /** Seconds since the epoch for every entry (SOURCE_DATE_EPOCH; default 0). */
  mtime: number;
}

/**
 * Puts entries in the canonical order and form: explicit parent directories, sorted by path
 * (byte order), one entry per path, modes normalized. Two identical directory entries collapse;
 * two different entries for one path are an error naming the path (a layering mistake).
 */
export function normalizeEntries(entries: readonly Entry[]): Entry[] {
  const byPath = new Map<string, Entry>();
  const add = (e: Entry, origin: 'given' | 'parent') => {
    const prev = byPath.get(e.path);
    if (!prev) {
      byPath.set(e.path, e);
      return;
    }
    if (prev.type === 'dir' && e.type === 'dir') return;
    if (origin === 'parent' && prev.type === 'dir') return;
    throw new InputError(
      'SHALE_PATH_CONFLICT',
      `two entries write /${e.path} in the same layer (${prev.type} and ${e.type}); remove one of them or put them in different layers`,
    );
  };
  for (const raw of entries) {
    const path = cleanPath(raw.path);
    add({ ...raw, path } as Entry, 'given');
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const prev = byPath.get(parent);
      if (prev && prev.type !== 'dir') {
        throw new InputError('SHALE_PATH_CONFLICT', `/${parent} is a ${prev.type} in this layer but /${path} needs it to be a directory`);
      }
      if (!prev) byPath.set(parent, { type: 'dir', path: parent });
    }
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Rejects absolute paths, `..` and empty components: layer paths are relative to the image root. */
export function cleanPath(p: string): string {
  const trimmed = p.replace(/^\/+/, '').replace(/\/+$/, '');
  const parts = trimmed.split('/');
  if (!trimmed || parts.some((x) => x === '' || x === '.' || x === '..')) {
    throw new InputError('SHALE_BAD_PATH', `invalid path "${p}" for a layer entry: paths must stay inside the image root`);
  }
  return trimmed;
}

const fileMode = (m: number): number => ((m & 0o111) !== 0 ? 0o755 : 0o644);

/**
 * Streams the entries as a reproducible tar (ustar, PAX only for long names): uid/gid 0 with
 * empty owner names, fixed mtime, normalized modes, sorted entries (Jib's ReproducibleLayerBuilder).
 * An entry with an `owner` keeps its numeric owner and exact mode (owner names stay empty).
 */
export function tarStream(entries: readonly Entry[], opts: TarOptions): Readable {
  const pack = tar.pack();
  const mtime = new Date(opts.mtime * 1000);
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  const sorted = normalizeEntries(entries);
  const ahead = new ReadAhead(sorted);
  void (async () => {
    for (const [i, e] of sorted.entries()) {
      if (e.type === 'dir') {
        const own = e.owner ? { uid: e.owner.uid, gid: e.owner.gid, mode: e.owner.mode } : { mode: 0o755 };
        await entryDone(pack, { ...base, ...own, name: `${e.path}/`, type: 'directory' });
      } else if (e.type === 'symlink') {
        await entryDone(pack, { ...base, name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
      } else {
        const src = await ahead.take(i);
        await new Promise<void>((ok, fail) => {
          const own = e.owner ? { uid: e.owner.uid, gid: e.owner.gid, mode: e.owner.mode } : { mode: fileMode(e.mode) };
          const sink = pack.entry({ ...base, ...own, name: e.path, type: 'file', size: e.size }, (err) => (err ? fail(err) : ok()));
          src.on('error', fail);
          sink.on('error', fail);
          pipeInto(src, sink as unknown as Writable); // a streamx Writable: write, end, drain, close, destroy
        });
      }
    }
    pack.finalize();
  })().catch((err: unknown) => {
    ahead.abandon();
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return pack as unknown as Readable;
}

/**
 * Opens the files after the one being written, up to READ_AHEAD files and READ_AHEAD_BYTES of
 * their sizes, so that reading a small file (one wait on the thread pool each) overlaps with
 * writing the ones before it instead of running one after another.
 */
const READ_AHEAD = 16;
const READ_AHEAD_BYTES = 2 << 20;

/** A stream opened ahead, with the first error it raised while it waited its turn. */
interface Opened {
  stream: Readable;
  early: () => Error | undefined;
  /** Stops holding errors: the writer listens from now on. */
  release: () => void;
}

async function openEntry(e: FileEntry): Promise<Opened> {
  const stream = await e.open();
  let first: Error | undefined;
  const hold = (err: Error): void => {
    first ??= err;
  };
  stream.on('error', hold);
  return { stream, early: () => first, release: () => stream.off('error', hold) };
}

class ReadAhead {
  private readonly opened = new Map<number, Promise<Opened>>();
  private next = 0;
  private bytes = 0;
  constructor(private readonly entries: readonly Entry[]) {}

  /**
   * The stream of file entry `i`, opened now unless it already was; opens the next ones. A
   * stream that failed while waiting (a damaged zip member) rejects here with its error.
   */
  async take(i: number): Promise<Readable> {
    const e = this.entries[i] as FileEntry;
    let p = this.opened.get(i);
    if (p) {
      this.opened.delete(i);
      this.bytes -= e.size;
    } else {
      p = openEntry(e);
    }
    this.next = Math.max(this.next, i + 1);
    this.fill();
    const o = await p;
    o.release();
    const err = o.early();
    if (err) throw err;
    return o.stream;
  }

  private fill(): void {
    while (this.next < this.entries.length && this.opened.size < READ_AHEAD && this.bytes < READ_AHEAD_BYTES) {
      const j = this.next++;
      const e = this.entries[j]!;
      if (e.type !== 'file') continue;
      const p = openEntry(e);
      p.catch(() => undefined); // reported when its turn comes
      this.opened.set(j, p);
      this.bytes += e.size;
    }
  }

  /** Closes what was opened ahead (the layer failed). */
  abandon(): void {
    for (const p of this.opened.values())
      void p.then(
        (o) => o.stream.destroy(),
        () => undefined,
      );
    this.opened.clear();
  }
}

function entryDone(pack: Pack, header: Partial<Header> & { name: string }): Promise<void> {
  return new Promise((ok, fail) => {
    pack.entry(header, (err) => (err ? fail(err) : ok()));
  });
}
