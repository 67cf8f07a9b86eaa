/**
 * What a base image says of its Debian system, read from its layers once per base digest: its
 * os-release, dpkg's database (/var/lib/dpkg/status, or distroless' status.d/ files), its apt
 * sources (/etc/apt/sources.list and sources.list.d, one-line and deb822) and the keyrings apt
 * trusts (/usr/share/keyrings, /etc/apt/trusted.gpg(.d), /etc/apt/keyrings). Whiteouts of upper
 * layers are honoured. The result is recorded in the cache's base records, so a rebuild on the
 * same base reads no layer.
 */
import { posix } from 'node:path';
import type { FactRecord } from '../base/records.js';
import { scanLayers, type Probe } from '../base/scan.js';
import type { LayerBlob, TarEntry } from '../layer/read-entries.js';

/** The Debian facts of a base; file contents as text (keyrings as base64, since they may be binary). */
export interface BaseSystem {
  /** /etc/os-release (or /usr/lib/os-release) as key → value ("ID" → "debian", "VERSION_CODENAME" → "bookworm"). */
  osRelease: Record<string, string>;
  /** /var/lib/dpkg/status, when the base has one (a Debian or Ubuntu image; distroless has none). */
  status?: string;
  /** /var/lib/dpkg/status.d/<name> files (distroless), by file name. */
  statusD: Record<string, string>;
  /** Source lists by their path in the image (/etc/apt/sources.list, /etc/apt/sources.list.d/debian.sources). */
  sourceLists: Record<string, string>;
  /** Keyring files by their path in the image, base64. */
  keyrings: Record<string, string>;
  /** Top-level directories that are symlinks (merged /usr: "bin" → "usr/bin"), which dpkg unpacks through. */
  rootLinks: Record<string, string>;
}

/** A base with no dpkg database and no os-release (scratch, or an image made some other way). */
export const isEmptySystem = (s: BaseSystem): boolean => s.status === undefined && !Object.keys(s.statusD).length;

const KEYRING_DIRS = ['/usr/share/keyrings', '/etc/apt/trusted.gpg.d', '/etc/apt/keyrings'];
const MAX_FILE = 64 << 20;

const ROOT_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

function wanted(path: string): boolean {
  if (ROOT_LINKS.includes(path)) return true;
  if (
    path === '/etc/os-release' ||
    path === '/usr/lib/os-release' ||
    path === '/var/lib/dpkg/status' ||
    path === '/etc/apt/sources.list' ||
    path === '/etc/apt/trusted.gpg'
  )
    return true;
  const dir = posix.dirname(path);
  if (dir === '/var/lib/dpkg/status.d') return true;
  if (dir === '/etc/apt/sources.list.d') return path.endsWith('.list') || path.endsWith('.sources');
  return KEYRING_DIRS.includes(dir) && /\.(gpg|asc)$/.test(path);
}

/** Collects the files above from layers seen top down; the first (upper) one of a path wins. */
export class SystemProbe implements Probe {
  readonly done = false;
  private readonly files = new Map<string, Buffer | null>();
  private readonly links = new Map<string, string>();
  /** Paths and directories removed by a whiteout in a layer above the one being read. */
  private readonly gone = new Set<string>();
  private readonly goneHere = new Set<string>();

  private hidden(path: string): boolean {
    for (let p = path; p !== '/'; p = posix.dirname(p)) if (this.gone.has(p)) return true;
    return false;
  }

  wants(e: TarEntry): 'bytes' | 'header' | undefined {
    const base = posix.basename(e.path);
    if (base.startsWith('.wh.')) return 'header';
    if (this.files.has(e.path) || this.links.has(e.path) || this.hidden(e.path)) return undefined;
    if (!wanted(e.path)) return undefined;
    if (e.type === 'symlink' && e.linkname) return 'header';
    if (ROOT_LINKS.includes(e.path)) return 'header';
    return e.type === 'file' && e.size <= MAX_FILE ? 'bytes' : undefined;
  }

  see(e: TarEntry, bytes: Buffer | undefined): void {
    const base = posix.basename(e.path);
    if (base === '.wh..wh..opq') {
      this.goneHere.add(`${posix.dirname(e.path)}/`);
    } else if (base.startsWith('.wh.')) {
      this.goneHere.add(posix.join(posix.dirname(e.path), base.slice(4)));
    } else if (e.type === 'symlink' && e.linkname) {
      this.links.set(e.path, e.linkname);
    } else if (bytes) {
      this.files.set(e.path, bytes);
    } else if (ROOT_LINKS.includes(e.path)) {
      this.files.set(e.path, null); // a real directory: it hides a link of a lower layer
    }
  }

  endLayer(): void {
    for (const g of this.goneHere) this.gone.add(g.endsWith('/') ? g.slice(0, -1) : g);
    this.goneHere.clear();
  }

  /** A file's content, following symlinks (within what was collected). */
  private read(path: string, depth = 0): Buffer | undefined {
    const f = this.files.get(path);
    if (f) return f;
    if (f === null) return undefined;
    const link = this.links.get(path);
    if (link === undefined || depth > 8) return undefined;
    return this.read(link.startsWith('/') ? link : posix.join(posix.dirname(path), link), depth + 1);
  }

  result(): BaseSystem {
    const text = (p: string): string | undefined => this.read(p)?.toString('utf8');
    const under = (dir: string): string[] => [...new Set([...this.files.keys(), ...this.links.keys()])].filter((p) => posix.dirname(p) === dir).sort();
    const status = text('/var/lib/dpkg/status');
    const system: BaseSystem = {
      osRelease: parseOsRelease(text('/etc/os-release') ?? text('/usr/lib/os-release') ?? ''),
      statusD: Object.fromEntries(
        under('/var/lib/dpkg/status.d').flatMap((p) => {
          const t = text(p);
          return t === undefined ? [] : [[posix.basename(p), t]];
        }),
      ),
      sourceLists: Object.fromEntries(
        ['/etc/apt/sources.list', ...under('/etc/apt/sources.list.d')].flatMap((p) => {
          const t = text(p);
          return t === undefined ? [] : [[p, t]];
        }),
      ),
      rootLinks: Object.fromEntries(
        ROOT_LINKS.flatMap((p) => {
          const l = this.links.get(p);
          return l === undefined ? [] : [[p.slice(1), l.replace(/^\/+/, '')]];
        }),
      ),
      keyrings: Object.fromEntries(
        ['/etc/apt/trusted.gpg', ...KEYRING_DIRS.flatMap(under)].flatMap((p) => {
          const b = this.read(p);
          return b ? [[p, b.toString('base64')]] : [];
        }),
      ),
    };
    if (status !== undefined) system.status = status;
    return system;
  }
}

/** Parses os-release(5): KEY=value lines, values maybe quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (/^".*"$|^'.*'$/.test(v)) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    out[m[1]!] = v;
  }
  return out;
}

/** The key under which a base's system is recorded beside its other facts. */
const RECORD_KEY = 'dev.shale.debian.system';

/** What reads and records a base's system: the cache's base records (src/base/records.ts). */
export interface SystemRecords {
  get(digest: string): Promise<FactRecord | undefined>;
  add(digest: string, facts: FactRecord): Promise<void>;
  once<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * The base's Debian system: from the record for its digest, else one pass over its layers
 * (recorded for next time). `noCache` reads the layers whatever is recorded.
 */
export async function readBaseSystem(base: { digest: string; layers: readonly LayerBlob[] }, records: SystemRecords, noCache: boolean): Promise<BaseSystem> {
  if (!noCache) {
    const known = (await records.get(base.digest))?.[RECORD_KEY];
    if (known) {
      try {
        return JSON.parse(known) as BaseSystem;
      } catch {
        // a damaged record: read the layers again below
      }
    }
  }
  return records.once(`${base.digest}|debian`, async () => {
    const probe = new SystemProbe();
    await scanLayers(base.layers, [probe]);
    const system = probe.result();
    await records.add(base.digest, { [RECORD_KEY]: JSON.stringify(system) });
    return system;
  });
}
