/**
 * Paths of a base image as its layers stack them, read for the `users` layer: the account files
 * (/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow, with their text) and the directories on
 * the way to a created home or a `writable` directory (kind, mode, owner: the layer rewrites
 * them as the base has them, so /tmp keeps its 1777). Read top layer down through the one layer
 * reader, stopping as soon as every path is known, and recorded per base manifest digest in the
 * cache's base records and as the image's `dev.shale.base.users` annotation (key
 * {@link RECORD_KEY}), so a base's layers are read once per machine, and not at all on a fresh
 * runner whose registry holds an earlier image on the same base. Shadow files with a password
 * hash are never put on the image (a build without them reads the layers).
 */
import { posix } from 'node:path';
import type { Events } from '../events.js';
import { Annotation } from '../oci/annotations.js';
import type { TarEntry } from '../layer/read-entries.js';
import type { BaseSource } from './facts.js';
import type { BaseRecords } from './records.js';
import { scanLayers, type Probe } from './scan.js';

/** What a path is in the base: its kind and metadata; a file's text when it was asked for. */
export interface BasePath {
  type: TarEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  text?: string;
}

/** Path → what it is, or null when the base does not have it. */
export type BasePaths = Map<string, BasePath | null>;

/** The record's key, locally and as the image's annotation (the same JSON). */
export const RECORD_KEY = Annotation.BaseUsers;
/** A file larger than this is not an account file anyone should have (nor keep in a record). */
const MAX_TEXT = 1 << 20;
/** Shadow files: shared on the image only when every password field is locked or empty. */
const SHADOWS = new Set(['/etc/shadow', '/etc/gshadow']);

/** Finds `paths` in layers fed top down; the upper layer's entry or whiteout wins. */
export class PathProbe implements Probe {
  readonly found: BasePaths = new Map();
  private layer = { seen: new Map<string, BasePath>(), gone: new Set<string>(), opaque: new Set<string>() };

  constructor(
    private readonly paths: ReadonlySet<string>,
    private readonly texts: ReadonlySet<string>,
  ) {}

  get done(): boolean {
    return this.found.size === this.paths.size;
  }

  wants(e: TarEntry): 'bytes' | 'header' | undefined {
    const name = posix.basename(e.path);
    const dir = posix.dirname(e.path);
    if (name.startsWith('.wh.')) return 'header';
    if (!this.paths.has(e.path) || this.found.has(e.path)) return undefined;
    return this.texts.has(e.path) && e.type === 'file' && e.size <= MAX_TEXT && dir === '/etc' ? 'bytes' : 'header';
  }

  see(e: TarEntry, bytes: Buffer | undefined): void {
    const name = posix.basename(e.path);
    const dir = posix.dirname(e.path);
    if (name === '.wh..wh..opq') this.layer.opaque.add(dir);
    else if (name.startsWith('.wh.')) this.layer.gone.add(posix.join(dir, name.slice(4)));
    else {
      const p: BasePath = { type: e.type, mode: e.mode & 0o7777, uid: e.uid ?? 0, gid: e.gid ?? 0 };
      if (e.linkname !== undefined) p.linkname = e.linkname;
      if (bytes) p.text = bytes.toString('utf8');
      this.layer.seen.set(e.path, p);
    }
  }

  endLayer(): void {
    const { seen, gone, opaque } = this.layer;
    for (const p of this.paths) {
      if (this.found.has(p)) continue;
      const s = seen.get(p);
      if (s) this.found.set(p, s);
      else if ([...gone].some((g) => p === g || p.startsWith(`${g}/`)) || [...opaque].some((o) => p.startsWith(o === '/' ? '/' : `${o}/`)))
        this.found.set(p, null);
    }
    this.layer = { seen: new Map(), gone: new Set(), opaque: new Set() };
  }

  /** After the last layer: every path not seen is missing. */
  result(): BasePaths {
    for (const p of this.paths) if (!this.found.has(p)) this.found.set(p, null);
    return this.found;
  }
}

function recorded(text: string | undefined): BasePaths {
  const out: BasePaths = new Map();
  if (text === undefined) return out;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return out;
    for (const [k, x] of Object.entries(v)) out.set(k, x === null ? null : (x as BasePath));
  } catch {
    // A record that does not parse is a miss: the layers are read again.
  }
  return out;
}

/** No password hash in a shadow file: every second field locked ("!", "*", "!*", "!!"), "x" or empty. */
const noHashes = (text: string): boolean => text.split('\n').every((l) => l.trim() === '' || /^[^:]*:(|x|!|\*|!\*|!!)(:|$)/.test(l));

/** The record as the image may carry it: a shadow file with a password hash in it is left out (a later build reads the layers for it). */
export function shareableRecord(found: BasePaths): string {
  const out = [...found].filter(([p, f]) => !SHADOWS.has(p) || f === null || (f.text !== undefined && noHashes(f.text)));
  return JSON.stringify(Object.fromEntries(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Two records of what was read (for the one `dev.shale.base.users` annotation): every path of both. */
export function mergeRecords(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return shareableRecord(new Map([...recorded(a), ...recorded(b)]));
}

/** What the base has at the asked paths, and the record to put on the image. */
export interface ReadPaths {
  found: BasePaths;
  record: string;
}

/**
 * What the base has at `paths` (`texts`: the files whose text is wanted too), from the local
 * record for its digest, else an earlier image's (`registry`: its `dev.shale.base.users`), when
 * one covers them, else its layers (once per base at a time); recorded locally for the next
 * build. `noCache` reads the layers again.
 */
export async function readBasePaths(
  base: BaseSource,
  paths: readonly string[],
  texts: readonly string[],
  records: BaseRecords,
  noCache: boolean,
  events: Events,
  registry?: string,
  what = 'users',
): Promise<ReadPaths> {
  const wanted = new Set([...paths, ...texts]);
  const pick = (from: BasePaths): BasePaths => new Map([...wanted].map((p) => [p, from.get(p) ?? null]));
  const covers = (m: BasePaths): boolean => [...wanted].every((p) => m.has(p));
  const local = noCache ? new Map<string, BasePath | null>() : recorded((await records.get(base.digest))?.[RECORD_KEY]);
  if (covers(local)) return { found: pick(local), record: shareableRecord(pick(local)) };
  const remote = noCache ? new Map<string, BasePath | null>() : recorded(registry);
  if (covers(remote)) {
    await records.add(base.digest, { [RECORD_KEY]: JSON.stringify(Object.fromEntries([...local, ...remote])) });
    return { found: pick(remote), record: shareableRecord(pick(remote)) };
  }
  const key = `${base.digest}|paths|${[...wanted].sort().join(',')}`;
  const found = await records.once(key, async () => {
    events({ type: 'step', step: `reading the base image's ${what}`, detail: base.name });
    const started = performance.now();
    const probe = new PathProbe(wanted, new Set(texts));
    const report = await scanLayers(
      base.layers.map((l) => ({ mediaType: l.descriptor.mediaType, open: () => l.open() })),
      [probe],
    );
    const ms = Math.round(performance.now() - started);
    events({
      type: 'log',
      level: 'debug',
      message: `base image ${base.name}: ${what === 'users' ? 'account files' : what} read from ${report.read} of ${base.layers.length} layer(s) in ${ms} ms`,
    });
    return probe.result();
  });
  await records.add(base.digest, { [RECORD_KEY]: JSON.stringify(Object.fromEntries([...local, ...found])) });
  return { found, record: shareableRecord(found) };
}
