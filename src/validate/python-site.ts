/**
 * `python-site`: the packages shale installed are where the image's own Python imports them
 * from: every `.dist-info` in a shale layer sits in a site directory of the `python3` the image's
 * PATH finds (so packages for Python 3.12 in a 3.11 image, or in /usr/local/lib/python3.11/
 * site-packages under Debian's python3, fail). A directory a `.pth` file of a site directory names
 * counts, as site.py adds it to sys.path.
 */
import { platformString } from '../oci/types.js';
import { describePython, imagePython, infoParent, sitePath } from './image-python.js';
import { verdict, type CheckResult, type ImageView } from './result.js';
import { RootFs } from './root-fs.js';

export function checkPythonSite(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const said: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    // Distributions shale installed: their .dist-info directory, by the directory holding it.
    const installed = new Map<string, string[]>();
    for (const layer of img.layers.filter((l) => l.shale)) {
      for (const e of layer.entries) {
        const m = /\/([^/]+)\.dist-info\/METADATA$/.exec(e.path);
        if (!m) continue;
        const dir = infoParent(e.path);
        installed.set(dir, [...(installed.get(dir) ?? []), m[1]!]);
      }
    }
    const py = imagePython(img);
    const count = [...installed.values()].reduce((n, l) => n + l.length, 0);
    if (!('python' in py)) {
      if (count)
        problems.push(
          `${plat}: shale installed ${count} distribution(s) (in ${[...installed.keys()].join(', ')}), but the image has no Python shale knows: ${py.problem}`,
        );
      else said.push(`${plat}: nothing installed by shale, and no python3 to check (${py.problem})`);
      continue;
    }
    const path = sitePath(py.python, new RootFs(img.layers.map((l) => l.entries)));
    const sites = path.map((s) => s.dir);
    const viaPth = [...installed.keys()].flatMap((dir) => path.filter((s) => s.dir === dir && s.pth).map((s) => `${dir} through ${s.pth}`));
    for (const [dir, dists] of installed) {
      if (sites.includes(dir)) continue;
      problems.push(
        `${plat}: ${dists.slice(0, 3).join(', ')}${dists.length > 3 ? ` and ${dists.length - 3} more` : ''} are in ${dir}, ` +
          `which ${describePython(py.python)} does not read (it reads ${sites.join(', ')})`,
      );
    }
    said.push(
      `${plat}: python3 is ${describePython(py.python)}; ` +
        (count ? `${count} distribution(s) from shale in ${[...installed.keys()].join(', ')}, which it reads` : 'no distributions from shale') +
        (viaPth.length ? ` (${viaPth.join(', ')})` : ''),
    );
  }
  return verdict('python-site', problems, said.join('; '));
}
