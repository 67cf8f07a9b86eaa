/**
 * The entries of a system layer: the files of every package's data.tar, as dpkg would unpack
 * them over the base, and what dpkg would have recorded of them, so `dpkg-query`, `dpkg -L` and
 * image scanners see the packages:
 *
 * - a base with dpkg's status file (Debian, Ubuntu): a new /var/lib/dpkg/status (the base's
 *   paragraphs with the new ones, sorted by name as dpkg writes it) and info/<pkg>.list,
 *   .md5sums, .conffiles and the other control files, as dpkg keeps them;
 * - a base without one (distroless, or packages alone): /var/lib/dpkg/status.d/<pkg> and
 *   <pkg>.md5sums, distroless' form, which the scanners read (Debian's dpkg does not).
 *
 * Paths go through the base's top-level links (merged /usr: a package's /bin/sh lands in
 * /usr/bin/sh), as dpkg unpacks through them: a directory entry never replaces such a link.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { bufferEntry, type Entry, type Owner } from '../layer/entry.js';
import { field, formatStanza, parseStanzas, type Stanza } from './control.js';
import type { DataEntry, DebContents } from './deb.js';

/** One package to lay: its control paragraph (from the .deb) and contents. */
export interface LaidPackage {
  name: string;
  architecture: string;
  contents: DebContents;
}

/** Where the dpkg records go, and what the base already has. */
export interface DpkgTarget {
  /** The base's status file; undefined: write status.d/ files instead. */
  status?: string;
  rootLinks: Record<string, string>;
  /** A system layer above writes the status file (with these packages in it): this one writes their info files only. */
  statusAbove?: boolean;
}

/** The data entries of `pkgs` as layer entries (hard links become copies: layers carry no links between files). */
export function dataEntries(pkgs: readonly LaidPackage[], rootLinks: Record<string, string>): Entry[] {
  const out = new Map<string, Entry>();
  for (const p of pkgs) {
    const files = new Map<string, Buffer>();
    for (const e of p.contents.data) {
      const path = throughLinks(e.path, rootLinks);
      if (path === undefined) continue;
      // Per-architecture library directories (links to usr/ on some platforms only) never hold
      // Architecture: all files; one there would replace the base's link, so it is left out.
      if (p.architecture === 'all' && /^(lib32|lib64|libx32)(\/|$)/.test(path)) continue;
      const entry = toEntry(e, path, files, rootLinks);
      if (entry) out.set(path, entry);
    }
  }
  return [...out.values()];
}

/**
 * The package's own owner and mode where the tar writer's normal form (root, 0755/0644) would
 * lose something: setuid/setgid/sticky bits (/tmp 1777, /usr/bin/passwd 4755) or an owner
 * other than root (/var/mail root:mail 2775).
 */
function exactOwner(e: { mode: number; uid: number; gid: number }): { owner?: Owner } {
  return e.mode & 0o7000 || e.uid || e.gid ? { owner: { uid: e.uid, gid: e.gid, mode: e.mode & 0o7777 } } : {};
}

function toEntry(e: DataEntry, path: string, files: Map<string, Buffer>, rootLinks: Record<string, string>): Entry | undefined {
  switch (e.type) {
    case 'dir':
      return { type: 'dir', path, mode: e.mode, ...exactOwner(e) };
    case 'symlink':
      return { type: 'symlink', path, target: e.target };
    case 'file':
      files.set(path, e.data);
      return { type: 'file', path, mode: e.mode, size: e.data.length, open: () => Readable.from([e.data]), ...exactOwner(e) };
    case 'hardlink': {
      const data = files.get(throughLinks(e.target, rootLinks) ?? '');
      return data ? { type: 'file', path, mode: 0o644, size: data.length, open: () => Readable.from([data]) } : undefined;
    }
  }
}

/** A package path as it lands: "bin/sh" → "usr/bin/sh" when /bin links to usr/bin; the linked directory itself → undefined. */
export function throughLinks(path: string, rootLinks: Record<string, string>): string | undefined {
  const slash = path.indexOf('/');
  const top = slash < 0 ? path : path.slice(0, slash);
  const to = rootLinks[top];
  if (to === undefined) return path;
  return slash < 0 ? undefined : `${to}/${path.slice(slash + 1)}`;
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** The dpkg status paragraph of an installed package: its control file, with Status (and Conffiles) added. */
export function statusStanza(p: LaidPackage): Stanza {
  const control = p.contents.control.get('control');
  const [ctl] = control ? parseStanzas(control.toString('utf8'), `${p.name}'s control file`) : [];
  const out: Stanza = new Map();
  for (const [k, v] of ctl ?? new Map<string, string>()) {
    out.set(k, v);
    if (k.toLowerCase() === 'package') out.set('Status', 'install ok installed');
  }
  const conffiles = (p.contents.control.get('conffiles')?.toString('utf8') ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/'));
  if (conffiles.length) {
    const data = new Map(p.contents.data.flatMap((e) => (e.type === 'file' ? [[`/${e.path}`, e.data]] : [])));
    const lines = conffiles.map((c) => ` ${c} ${data.has(c) ? md5(data.get(c)!) : 'newconffile'}`);
    // Before Description, where dpkg writes it.
    const desc = field(out, 'Description');
    out.delete('Description');
    out.set('Conffiles', `\n${lines.map((l) => l.slice(1)).join('\n')}`);
    if (desc !== undefined) out.set('Description', desc);
  }
  return out;
}

/** dpkg's info file name of a package: `<name>:<arch>` for Multi-Arch: same packages, else `<name>`. */
function infoName(p: LaidPackage, s: Stanza): string {
  return (field(s, 'Multi-Arch') ?? '').toLowerCase() === 'same' ? `${p.name}:${p.architecture}` : p.name;
}

/** The md5sums of a package: its own file, else computed from its data (some packages ship none). */
function md5sums(p: LaidPackage): Buffer {
  const own = p.contents.control.get('md5sums');
  if (own) return own;
  return Buffer.from(p.contents.data.flatMap((e) => (e.type === 'file' ? [`${md5(e.data)}  ${e.path}\n`] : [])).join(''));
}

/**
 * The base's status file with the paragraphs of `added` (lowest layer first), a package the base
 * had in another version replaced (also an "all" one becoming arch-specific), sorted by name,
 * then architecture, as dpkg writes it ("foo" before "foo-data").
 */
function mergedStatus(base: string, added: readonly { p: LaidPackage; s: Stanza }[]): string {
  const byName = new Map<string, string>();
  for (const s of parseStanzas(base, '/var/lib/dpkg/status')) byName.set(`${field(s, 'Package')}:${field(s, 'Architecture')}`, formatStanza(s));
  for (const { p, s } of added) {
    for (const k of [...byName.keys()]) if (k.startsWith(`${p.name}:`)) byName.delete(k);
    byName.set(`${p.name}:${p.architecture}`, formatStanza(s));
  }
  const order = (k: string): [string, string] => [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)];
  return [...byName.entries()]
    .sort(([a], [b]) => {
      const [x, y] = [order(a), order(b)];
      return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
    })
    .map(([, t]) => t)
    .join('\n');
}

/**
 * What dpkg would have recorded of `all` on a base with `target`. `all` are every package of one
 * system layer of the config (their records go together, in one layer, even when their files do
 * not); `below` those of the system layers under it, which the status file lists too. Only the
 * topmost system layer writes the status file (`statusAbove` for the others), so no path is
 * written by two layers.
 */
export function dpkgEntries(all: readonly LaidPackage[], target: DpkgTarget, below: readonly LaidPackage[] = []): Entry[] {
  const stanzas = all.map((p) => ({ p, s: statusStanza(p) }));
  if (target.status === undefined) {
    return stanzas.flatMap(({ p, s }) => [
      bufferEntry(`var/lib/dpkg/status.d/${p.name}`, formatStanza(s)),
      bufferEntry(`var/lib/dpkg/status.d/${p.name}.md5sums`, md5sums(p)),
    ]);
  }
  const out: Entry[] = target.statusAbove
    ? []
    : [bufferEntry('var/lib/dpkg/status', mergedStatus(target.status, [...below.map((p) => ({ p, s: statusStanza(p) })), ...stanzas]))];
  for (const { p, s } of stanzas) {
    const name = infoName(p, s);
    const paths = p.contents.data.flatMap((e) => {
      const at = throughLinks(e.path, {});
      return at ? [`/${at}`] : [];
    });
    out.push(bufferEntry(`var/lib/dpkg/info/${name}.list`, ['/.', ...paths].join('\n') + '\n'));
    out.push(bufferEntry(`var/lib/dpkg/info/${name}.md5sums`, md5sums(p)));
    for (const [file, bytes] of p.contents.control) {
      if (file === 'control' || file === 'md5sums') continue;
      const script = ['preinst', 'postinst', 'prerm', 'postrm', 'config'].includes(file);
      out.push(bufferEntry(`var/lib/dpkg/info/${name}.${file}`, bytes, script ? 0o755 : 0o644));
    }
  }
  return out;
}
