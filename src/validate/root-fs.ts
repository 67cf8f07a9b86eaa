import { posix } from 'node:path';
import type { LayerEntry } from './layer-entries.js';

/** Symlinks followed before giving up (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * The file system an image's layers stack up to, by path only (no contents): later layers
 * replace entries, and OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) delete them.
 */
export class RootFs {
  private readonly entries = new Map<string, LayerEntry>();

  /** Stacks layers in order, lowest first. */
  constructor(layers: readonly (readonly LayerEntry[])[]) {
    for (const layer of layers) this.apply(layer);
  }

  private apply(layer: readonly LayerEntry[]): void {
    for (const e of layer) {
      const dir = posix.dirname(e.path);
      const base = posix.basename(e.path);
      if (base === '.wh..wh..opq') this.removeBelow(dir);
      else if (base.startsWith('.wh.')) {
        const gone = posix.join(dir, base.slice('.wh.'.length));
        this.entries.delete(gone);
        this.removeBelow(gone);
      } else this.entries.set(e.path, e);
    }
  }

  private removeBelow(dir: string): void {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    for (const p of [...this.entries.keys()]) if (p.startsWith(prefix)) this.entries.delete(p);
  }

  /**
   * Finds `path` following symlinks in every component (as the kernel does for exec), and
   * returns the entry it ends at with its real path; undefined when it does not exist.
   */
  resolve(path: string): { path: string; entry: LayerEntry } | undefined {
    let parts = posix.normalize(path).split('/').filter(Boolean);
    let done: string[] = [];
    for (let hops = 0; hops <= MAX_LINKS;) {
      if (parts.length === 0) return undefined;
      const [head, ...rest] = parts as [string, ...string[]];
      const here = `/${[...done, head].join('/')}`;
      const e = this.entries.get(here);
      if (e?.type === 'symlink' && e.linkname !== undefined) {
        hops++;
        const target = e.linkname.startsWith('/') ? e.linkname : posix.join(`/${done.join('/')}`, e.linkname);
        parts = [...posix.normalize(target).split('/').filter(Boolean), ...rest];
        done = [];
        continue;
      }
      if (rest.length === 0) return e ? { path: here, entry: this.hardLinkTarget(e) } : undefined;
      // A directory a layer did not list explicitly still exists when something is below it.
      if (e && e.type !== 'dir') return undefined;
      done.push(head);
      parts = rest;
    }
    return undefined;
  }

  /** The names directly in directory `dir` (its real path, as `resolve` returns it). */
  list(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const out: string[] = [];
    for (const p of this.entries.keys()) if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    return out;
  }

  /** Whether `path` is a directory: listed as one (links followed), or with something below it. */
  isDir(path: string): boolean {
    const hit = this.resolve(path);
    if (hit) return hit.entry.type === 'dir';
    const prefix = `${posix.normalize(path).replace(/\/+$/, '')}/`;
    for (const p of this.entries.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  /** Every path held, in no order (for scans by pattern: `.dist-info` directories). */
  paths(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** The entry at exactly `path` (no link followed), if any. */
  at(path: string): LayerEntry | undefined {
    return this.entries.get(path);
  }

  private hardLinkTarget(e: LayerEntry): LayerEntry {
    if (e.type !== 'link' || e.linkname === undefined) return e;
    return this.entries.get(e.linkname) ?? e;
  }
}
