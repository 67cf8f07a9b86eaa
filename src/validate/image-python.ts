/**
 * The Python a built image runs, read from its own layers as the build reads a base (the
 * `python3` its PATH finds, followed to `python3.X`; base/python.ts), and the directories that
 * interpreter imports from: its standard library and the site directories its site.py adds.
 */
import { posix } from 'node:path';
import { pathDirs } from '../base/path.js';
import { PythonProbe, type BasePython, type PythonFinding } from '../base/python.js';
import type { TarEntry } from '../layer/read-entries.js';
import type { ImageView } from './result.js';
import type { RootFs } from './root-fs.js';

/** The image's Python, or why it has none shale knows. */
export function imagePython(img: ImageView): PythonFinding {
  const probe = new PythonProbe(pathDirs(img.config.config?.Env));
  const none: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: async function* () {} };
  for (const layer of [...img.layers].reverse()) {
    for (const e of layer.entries) {
      const entry: TarEntry = { path: e.path, type: e.type, mode: e.mode, size: 0, body: none, bytes: () => Promise.resolve(Buffer.alloc(0)) };
      if (e.linkname !== undefined) entry.linkname = e.linkname;
      if (probe.wants(entry)) probe.see(entry);
    }
    probe.endLayer();
  }
  return probe.result();
}

/** Where this Python imports third-party packages from (what its site.py adds), in sys.path order. */
export function siteDirs(p: BasePython): string[] {
  if (p.kind === 'official') return [`/usr/local/lib/python${p.version}/site-packages`];
  // Debian's site.py: /usr/local/lib/python3.X/dist-packages, /usr/lib/python3/dist-packages, /usr/lib/python3.X/dist-packages.
  return [`/usr/local/lib/python${p.version}/dist-packages`, '/usr/lib/python3/dist-packages', `/usr/lib/python${p.version}/dist-packages`];
}

/** A directory on sys.path from site.py: a site directory, or one a `.pth` file in it names (`pth`: that file). */
export interface SiteDir {
  dir: string;
  pth?: string;
}

/**
 * The path lines of a `.pth` file, as site.py reads them: not blank, not a comment (`#`), not an
 * `import` line (which site.py runs as code), trailing whitespace removed.
 */
export function pthPathLines(text: string): string[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^import[ \t]/.test(l))
    .map((l) => l.trimEnd());
}

/**
 * The site directories of {@link siteDirs} with, after each, the directories its `.pth` files
 * name (files in name order, each line relative to the site directory, only those that exist in
 * the image), as site.py's addsitedir adds them. `.pth` text is what layer-entries.ts keeps.
 */
export function sitePath(p: BasePython, fs: RootFs): SiteDir[] {
  const out: SiteDir[] = [];
  const seen = new Set<string>();
  for (const site of siteDirs(p)) {
    out.push({ dir: site });
    seen.add(site);
    if (!fs.isDir(site)) continue;
    const real = fs.resolve(site)?.path ?? site;
    for (const name of fs
      .list(real)
      .filter((n) => n.endsWith('.pth') && !n.startsWith('.'))
      .sort()) {
      const text = fs.resolve(posix.join(real, name))?.entry.text;
      if (text === undefined) continue;
      for (const line of pthPathLines(text)) {
        const dir = posix.resolve(site, line);
        if (seen.has(dir) || !fs.isDir(dir)) continue;
        seen.add(dir);
        out.push({ dir, pth: posix.join(site, name) });
      }
    }
  }
  return out;
}

/** Its standard library (the zip, the directory, the extension modules). */
export function stdlibDirs(p: BasePython): string[] {
  const lib = `${p.kind === 'official' ? '/usr/local' : '/usr'}/lib/python${p.version}`;
  return [`${lib.replace(/python(\d)\.(\d+)$/, 'python$1$2')}.zip`, lib, `${lib}/lib-dynload`];
}

/** "/usr/bin/python3 → /usr/bin/python3.11 (3.11 debian)" */
export const describePython = (p: BasePython): string => `${p.evidence ?? 'python3'} (${p.version} ${p.kind})`;

/** The directory a path's `.dist-info` (or `.egg-info`) sits in. */
export const infoParent = (path: string): string => posix.dirname(path.replace(/\.(dist|egg)-info(\/.*)?$/, '.$1-info'));
