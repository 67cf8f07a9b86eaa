/**
 * The packages a resolution chooses from: the `Packages` indexes of every source for one
 * architecture, merged. An index of a whole suite is ~60,000 paragraphs; only names and
 * `Provides` are read up front, a paragraph is parsed when a resolution asks for it.
 */
import { field, parseStanzas, type Stanza } from './control.js';
import { parseRelations, type Alternatives } from './relations.js';
import { compareVersions } from './version.js';

/** One binary package as an index (or dpkg's status) describes it. */
export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** Path below the source's URI (`pool/main/c/curl/curl_7.88.1-10+deb12u8_amd64.deb`); "" for installed ones. */
  filename: string;
  /** sha256 hex of the .deb, from the signed index. */
  sha256: string;
  size: number;
  /** The source URI the .deb is fetched from. */
  uri: string;
  depends: Alternatives[];
  provides: { name: string; version?: string }[];
  /** The whole paragraph (for the dpkg status entry). */
  stanza: Stanza;
}

/** Reads a package paragraph; `uri` is where its `Filename` is relative to. */
export function packageOf(s: Stanza, uri: string, what: string): DebPackage {
  const name = field(s, 'Package');
  const version = field(s, 'Version');
  if (!name || !version) throw new Error(`${what}: a paragraph without Package or Version`);
  const at = `${what}: ${name} ${version}`;
  const provides = parseRelations(field(s, 'Provides'), `${at} Provides`).map((g) => {
    const d = g[0]!;
    return d.constraint?.relation === '=' ? { name: d.name, version: d.constraint.version } : { name: d.name };
  });
  return {
    name,
    version,
    architecture: field(s, 'Architecture') ?? 'all',
    filename: field(s, 'Filename') ?? '',
    sha256: field(s, 'SHA256') ?? '',
    size: Number(field(s, 'Size') ?? 0),
    uri,
    depends: [...parseRelations(field(s, 'Pre-Depends'), `${at} Pre-Depends`), ...parseRelations(field(s, 'Depends'), `${at} Depends`)],
    provides,
    stanza: s,
  };
}

/** One paragraph of a Packages file: where it is in the file's bytes. */
interface Raw {
  bytes: Buffer;
  start: number;
  end: number;
  uri: string;
  what: string;
}

/** Several Packages files of one architecture, merged; every version of a name is kept. */
export class PackageIndex {
  private readonly raw = new Map<string, Raw[]>();
  private readonly providers = new Map<string, Set<string>>();
  private readonly parsed = new Map<string, DebPackage[]>();

  /**
   * Adds one Packages file. Its bytes are kept as they are (a suite's index is ~50 MB, twice that
   * as a JavaScript string with any non-Latin-1 character in it); paragraphs are found and their
   * Package and Provides fields read (ASCII, so read as Latin-1); the rest is decoded when a
   * resolution asks for the package.
   */
  add(input: Buffer | string, uri: string, what: string): void {
    const bytes = typeof input === 'string' ? Buffer.from(input) : input;
    for (let start = 0; start < bytes.length;) {
      let end = bytes.indexOf('\n\n', start);
      if (end < 0) end = bytes.length;
      if (end > start) this.paragraph({ bytes, start, end, uri, what });
      start = end + 2;
    }
    this.parsed.clear();
  }

  private paragraph(r: Raw): void {
    const head = r.bytes.toString('latin1', r.start, r.end);
    const name = /^Package:\s*(\S+)/m.exec(head)?.[1];
    if (!name) return;
    const list = this.raw.get(name) ?? [];
    list.push(r);
    this.raw.set(name, list);
    const prov = /^Provides:(.*(?:\n[ \t].*)*)/m.exec(head)?.[1];
    if (!prov) return;
    for (const item of prov.split(',')) {
      const p = /^\s*([a-z0-9][a-z0-9+.-]*)/i.exec(item)?.[1]?.toLowerCase();
      if (!p) continue;
      const set = this.providers.get(p) ?? new Set();
      set.add(name);
      this.providers.set(p, set);
    }
  }

  /** Every version of a package, newest first. */
  versions(name: string): DebPackage[] {
    let out = this.parsed.get(name);
    if (!out) {
      out = (this.raw.get(name) ?? []).flatMap((r) => parseStanzas(r.bytes.toString('utf8', r.start, r.end), r.what).map((s) => packageOf(s, r.uri, r.what)));
      out.sort((a, b) => compareVersions(b.version, a.version));
      this.parsed.set(name, out);
    }
    return out;
  }

  /** Names of real packages that provide `virtual`, sorted. */
  providersOf(virtual: string): string[] {
    return [...(this.providers.get(virtual) ?? [])].sort();
  }

  has(name: string): boolean {
    return this.raw.has(name);
  }

  names(): IterableIterator<string> {
    return this.raw.keys();
  }
}

/** A test or a lock can build an index from paragraphs directly. */
export function indexOf(text: string, uri = 'http://example.invalid/debian'): PackageIndex {
  const idx = new PackageIndex();
  idx.add(text, uri, 'Packages');
  return idx;
}
