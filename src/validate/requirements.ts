/**
 * `requirements`: every distribution the image's Python sees (the `.dist-info` METADATA in its
 * site directories, base layers included) has its `Requires-Dist` met by another one with a
 * version in range, and its `Requires-Python` fits: the build's own completeness check of a
 * lock (python/lock-check.ts), asked of what the image holds. `.egg-info` distributions (apt's
 * python3-* packages) count as present; their own requirements are not read.
 */
import { posix } from 'node:path';
import { UNUSED_LIBC } from '../base/libc.js';
import { platformString } from '../oci/types.js';
import { parseCoreMetadata } from '../python/core-metadata.js';
import { environmentProblems, type CheckedPackage } from '../python/lock-check.js';
import { normalizeName } from '../python/names.js';
import { describePython, imagePython, infoParent, sitePath } from './image-python.js';
import { verdict, type CheckResult, type ImageView } from './result.js';
import { RootFs } from './root-fs.js';

export function checkRequirements(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const said: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const py = imagePython(img);
    if (!('python' in py)) {
      said.push(`${plat}: no Python shale knows in the image (${py.problem}): nothing to check`);
      continue;
    }
    const fs = new RootFs(img.layers.map((l) => l.entries));
    const sites = new Set(sitePath(py.python, fs).map((s) => s.dir));
    const pkgs: CheckedPackage[] = [];
    const seen = new Set<string>();
    let unreadable = 0;
    for (const path of [...fs.paths()].sort()) {
      if (!sites.has(infoParent(path))) continue;
      const dist = /\/([^/]+)\.dist-info\/METADATA$/.exec(path);
      const egg = /\/([^/]+)\.egg-info$/.exec(path);
      if (dist) {
        const text = fs.at(path)?.text;
        if (text === undefined) {
          unreadable++;
          continue;
        }
        try {
          const metadata = parseCoreMetadata(text, path);
          const name = normalizeName(metadata.name);
          if (seen.has(name)) continue;
          seen.add(name);
          pkgs.push({ pkg: { name, version: metadata.version, hashes: [], source: { file: path, line: 0 } }, metadata });
        } catch {
          unreadable++;
        }
      } else if (egg) {
        // "PyYAML-6.0.egg-info", "six-1.16.0.egg-info", "foo-1.0-py3.11.egg-info"
        const m = /^(.+?)-(\d[^-]*)(?:-py\d.*)?$/.exec(egg[1]!);
        if (!m) continue;
        const name = normalizeName(m[1]!);
        if (seen.has(name)) continue;
        seen.add(name);
        pkgs.push({
          pkg: { name, version: m[2]!, hashes: [], source: { file: path, line: 0 } },
          metadata: { name, version: m[2]!, requiresDist: [], providesExtra: [] },
        });
      }
    }
    const env = { python: py.python.version, platform: img.platform, libc: UNUSED_LIBC };
    const found = environmentProblems('the image', env, pkgs, []);
    problems.push(...found.map((p) => `${plat}: ${p}`));
    const where = [...sites].filter((s) => pkgs.some((p) => posix.dirname(p.pkg.source.file).startsWith(s))).join(', ') || [...sites].join(', ');
    said.push(
      `${plat}: ${pkgs.length} distribution(s) in ${where} for ${describePython(py.python)}: every Requires-Dist and Requires-Python met` +
        (unreadable ? ` (${unreadable} METADATA file(s) too large or unreadable, skipped)` : ''),
    );
  }
  return verdict('requirements', problems, said.join('; '));
}
