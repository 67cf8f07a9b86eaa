/**
 * The Python of a base image: its X.Y version and the kind of install, which decide the wheels
 * that fit and where packages go (python/layout.ts). The official `python:*` images say it in
 * their Env (PYTHON_VERSION); any other base is read: the `python3` its PATH finds, followed
 * through its links to the `python3.X` interpreter, and that interpreter's standard library
 * directory (docs/design.md, "Flow of `shale build`", step 2).
 */
import { posix } from 'node:path';
import { InputError } from '../errors.js';
import type { TarEntry } from '../layer/read-entries.js';
import { pythonLayout, type InstallLayout, type PythonKind } from '../python/layout.js';
import type { Probe } from './scan.js';

/** A base image's Python. */
export interface BasePython {
  /** "3.11" */
  version: string;
  kind: PythonKind;
  /** What showed it, for messages: "PYTHON_VERSION=3.11.9", "/usr/bin/python3 → /usr/bin/python3.11". */
  evidence?: string;
}

/** A placeholder for targets that install nothing (no dependencies, no local libraries): it decides nothing and is recorded nowhere. */
export const UNUSED_PYTHON: BasePython = { version: '3.0', kind: 'official' };

/** "3.11 debian", the form of the `dev.shale.base.python` annotation and of the local record. */
export function formatPython(p: BasePython): string {
  return `${p.version} ${p.kind}`;
}

/** Parses "3.11 debian" / "3.12 official"; undefined when malformed. */
export function parsePython(text: string): BasePython | undefined {
  const m = /^\s*(3\.\d+)\s+(official|debian)\s*$/.exec(text);
  return m ? { version: m[1]!, kind: m[2] === 'debian' ? 'debian' : 'official' } : undefined;
}

/** Where packages go for this Python. */
export function installLayout(p: BasePython): InstallLayout {
  return pythonLayout(p.kind, p.version);
}

/**
 * The official images' Python, from PYTHON_VERSION in the config Env ("3.11.9"): CPython built
 * into /usr/local. Undefined when the Env does not say it (or says something that is no X.Y).
 */
export function pythonFromEnv(env: readonly string[]): BasePython | undefined {
  const value = env.find((e) => e.startsWith('PYTHON_VERSION='))?.slice('PYTHON_VERSION='.length);
  const m = value === undefined ? null : /^(3\.\d+)(?:\.|$)/.exec(value.trim());
  return m ? { version: m[1]!, kind: 'official', evidence: `PYTHON_VERSION=${value}` } : undefined;
}

/** The two places shale knows a Python's install scheme for: their bin dir → the kind. */
const KNOWN_BINS: ReadonlyMap<string, PythonKind> = new Map([
  ['/usr/local/bin', 'official'],
  ['/usr/bin', 'debian'],
]);
const PYTHON_NAME = /^python3(?:\.(\d+))?$/;
const LIB_DIR = /^(\/usr(?:\/local)?\/lib\/python3\.\d+)(?:\/|$)/;
/** Debian's python3 package makes it; a /usr/bin python without it is some other distribution's. */
const DEBIAN_MARKER = '/usr/lib/python3/dist-packages';

interface Seen {
  type: TarEntry['type'];
  linkname?: string;
}

/** What the layers showed, or why they showed no usable Python. */
export type PythonFinding = { python: BasePython } | { problem: string; none: boolean };

/**
 * Collects, from the top layer down, the entries that say which Python `python3` is: every
 * `python3` / `python3.X` in the PATH directories (and /usr/local/bin, /usr/bin), the
 * `/usr[/local]/lib/python3.X` directories, Debian's /usr/lib/python3/dist-packages, and the
 * whiteouts that hide any of them. An upper layer's entry wins. It reads every layer: a lower
 * layer may still add a `python3` that PATH finds first.
 */
export class PythonProbe implements Probe {
  private readonly bins: ReadonlySet<string>;
  /** What the layers read so far show, upper layers first. */
  private readonly view = new Map<string, Seen>();
  /** Paths (and everything under them) that a whiteout of an upper layer removed. */
  private readonly gone = new Set<string>();
  /** Directories whose lower content an opaque whiteout of an upper layer removed. */
  private readonly opaque = new Set<string>();
  private layer = { seen: new Map<string, Seen>(), gone: new Set<string>(), opaque: new Set<string>() };

  readonly done = false;

  constructor(private readonly path: readonly string[]) {
    this.bins = new Set([...path, ...KNOWN_BINS.keys()]);
  }

  wants(e: TarEntry): 'header' | undefined {
    const dir = posix.dirname(e.path);
    const name = posix.basename(e.path);
    if (name.startsWith('.wh.')) return this.relevant(name === '.wh..wh..opq' ? dir : posix.join(dir, name.slice(4))) ? 'header' : undefined;
    if (this.bins.has(dir) && PYTHON_NAME.test(name)) return 'header';
    if (LIB_DIR.test(e.path) || e.path === DEBIAN_MARKER || e.path.startsWith(`${DEBIAN_MARKER}/`)) return 'header';
    return undefined;
  }

  see(e: TarEntry): void {
    const dir = posix.dirname(e.path);
    const name = posix.basename(e.path);
    if (name === '.wh..wh..opq') this.layer.opaque.add(dir);
    else if (name.startsWith('.wh.')) this.layer.gone.add(posix.join(dir, name.slice(4)));
    else if (this.bins.has(dir) && PYTHON_NAME.test(name))
      this.layer.seen.set(e.path, e.linkname === undefined ? { type: e.type } : { type: e.type, linkname: e.linkname });
    else {
      // A file deep in the standard library shows its directory as well as the directory's own entry.
      const lib = LIB_DIR.exec(e.path)?.[1] ?? (e.path.startsWith(DEBIAN_MARKER) ? DEBIAN_MARKER : undefined);
      if (lib && !this.layer.seen.has(lib)) this.layer.seen.set(lib, { type: 'dir' });
    }
  }

  endLayer(): void {
    for (const [p, s] of this.layer.seen) if (!this.view.has(p) && !this.hidden(p)) this.view.set(p, s);
    for (const p of this.layer.gone) this.gone.add(p);
    for (const p of this.layer.opaque) this.opaque.add(p);
    this.layer = { seen: new Map(), gone: new Set(), opaque: new Set() };
  }

  /** Whether a whiteout's path could hide anything this probe looks at. */
  private relevant(p: string): boolean {
    const roots = [...this.bins, '/usr/lib', '/usr/local/lib'];
    return roots.some((r) => r === p || r.startsWith(`${p}/`) || p.startsWith(`${r}/`));
  }

  private hidden(p: string): boolean {
    for (const g of this.gone) if (p === g || p.startsWith(`${g}/`)) return true;
    for (const o of this.opaque) if (p.startsWith(`${o}/`)) return true;
    return false;
  }

  /** The interpreter `start` leads to through symlinks and hard links, or why it leads nowhere. */
  private follow(start: string): { file: string } | { problem: string } {
    let p = start;
    for (let hops = 0; hops < 16; hops++) {
      const s = this.view.get(p);
      if (!s) {
        const where = this.bins.has(posix.dirname(p))
          ? 'which is not in the image'
          : 'outside /usr/local/bin and /usr/bin, where shale knows how Python installs packages';
        return { problem: `${start} leads to ${p}, ${where}` };
      }
      if (s.type === 'file') return { file: p };
      if ((s.type !== 'symlink' && s.type !== 'link') || s.linkname === undefined) return { problem: `${p} is not a file` };
      // A hard link names the file it is (already absolute); a symlink is relative to its directory.
      p = s.type === 'link' ? s.linkname : s.linkname.startsWith('/') ? posix.normalize(s.linkname) : posix.join(posix.dirname(p), s.linkname);
    }
    return { problem: `${start} is a loop of links` };
  }

  /** The `python3.X` names in a directory that are the file `file` (itself or hard links to it). */
  private versionedNames(dir: string, file?: string): string[] {
    const out: string[] = [];
    for (const [p, s] of this.view) {
      if (posix.dirname(p) !== dir || PYTHON_NAME.exec(posix.basename(p))?.[1] === undefined) continue;
      if (file === undefined || p === file || (s.type === 'link' && s.linkname === file)) out.push(p);
    }
    return out.sort();
  }

  /** What `via` (the python3 PATH finds) turns out to be. */
  private interpreter(via: string): PythonFinding {
    const viaDir = posix.dirname(via);
    if (!KNOWN_BINS.has(viaDir)) {
      return {
        none: false,
        problem: `the python3 its PATH finds first is ${via}; shale installs packages only for the python3 of /usr/local/bin (the official python images) or Debian's /usr/bin/python3`,
      };
    }
    const followed = this.follow(via);
    if ('problem' in followed) return { none: false, problem: followed.problem };
    let file = followed.file;
    if (PYTHON_NAME.exec(posix.basename(file))?.[1] === undefined) {
      // python3 is the file itself: its versioned name is a hard link to it (or the only one beside it).
      const names = this.versionedNames(posix.dirname(file), file);
      const named = names.length ? names : this.versionedNames(posix.dirname(file));
      if (named.length !== 1)
        return { none: false, problem: `${file} does not say its version (${named.length ? `beside it: ${named.join(', ')}` : 'no python3.X beside it'})` };
      file = named[0]!;
    }
    const chain = file === via ? via : `${via} → ${file}`;
    const kind = KNOWN_BINS.get(posix.dirname(file));
    const version = /python(3\.\d+)$/.exec(file)?.[1];
    if (!kind || !version) return { none: false, problem: `${chain} is outside /usr/local/bin and /usr/bin, where shale knows how Python installs packages` };
    const lib = `${kind === 'official' ? '/usr/local' : '/usr'}/lib/python${version}`;
    if (!this.view.has(lib)) return { none: false, problem: `${chain} has no standard library (${lib} is not in the image)` };
    if (kind === 'debian' && !this.view.has(DEBIAN_MARKER)) {
      return { none: false, problem: `${chain} is not Debian's python3 (no ${DEBIAN_MARKER}), so shale cannot tell where it looks for packages` };
    }
    return { python: { version, kind, evidence: chain } };
  }

  /** After the scan: the Python `python3` is in the image, or why there is none shale can use. */
  result(): PythonFinding {
    for (const dir of this.path) {
      if (this.view.has(`${dir}/python3`)) return this.interpreter(`${dir}/python3`);
    }
    // No plain `python3`: a lone python3.X in a known bin directory will do.
    for (const dir of [...this.path, ...KNOWN_BINS.keys()].filter((d) => KNOWN_BINS.has(d))) {
      const names = this.versionedNames(dir);
      if (names.length === 1) return this.interpreter(names[0]!);
      if (names.length > 1)
        return { none: false, problem: `it has no python3 but several interpreters (${names.join(', ')}), and shale cannot tell which one the app runs` };
    }
    return {
      none: true,
      problem: `no python3 on its PATH (${this.path.join(':')}) or python3.X in /usr/local/bin or /usr/bin, and no PYTHON_VERSION in its environment`,
    };
  }
}

/**
 * The error for a `python` key that is not the base's Python, or for a base with no Python
 * shale can use: packages for another version would go where the base's interpreter never looks.
 */
export function pythonMismatch(configured: string, found: BasePython, what: string): InputError {
  const how = found.evidence ?? 'as recorded for this base digest by an earlier build';
  return new InputError(
    'SHALE_PYTHON_MISMATCH',
    `python = "${configured}" in [tool.shale], but ${what} has Python ${found.version} (${how}); packages for Python ${configured} would go where its interpreter never looks. Remove the key (shale reads the version from the base) or set python = "${found.version}", or pick a base with Python ${configured}`,
  );
}

/** The error for a base without a Python shale can install for; `configured` is the `python` key, if set. */
export function pythonUnusable(finding: { problem: string; none: boolean }, what: string, configured: string | undefined): InputError {
  const asked = configured === undefined ? '' : `python = "${configured}" in [tool.shale], but `;
  const fix = "shale installs packages for the base's own python3: pick a base that has one (python:3.X-slim, or Debian or Ubuntu with python3)";
  if (finding.none) return new InputError('SHALE_PYTHON_MISSING', `${asked}${what} has no Python: ${finding.problem}; ${fix}`);
  return new InputError('SHALE_PYTHON_UNSUPPORTED', `${asked}${what} has no Python shale can install packages for: ${finding.problem}; ${fix}`);
}
