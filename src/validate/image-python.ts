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

/** Its standard library (the zip, the directory, the extension modules). */
export function stdlibDirs(p: BasePython): string[] {
  const lib = `${p.kind === 'official' ? '/usr/local' : '/usr'}/lib/python${p.version}`;
  return [`${lib.replace(/python(\d)\.(\d+)$/, 'python$1$2')}.zip`, lib, `${lib}/lib-dynload`];
}

/** "/usr/bin/python3 → /usr/bin/python3.11 (3.11 debian)" */
export const describePython = (p: BasePython): string => `${p.evidence ?? 'python3'} (${p.version} ${p.kind})`;

/** The directory a path's `.dist-info` (or `.egg-info`) sits in. */
export const infoParent = (path: string): string => posix.dirname(path.replace(/\.(dist|egg)-info(\/.*)?$/, '.$1-info'));
