/**
 * `system-packages`: the image's Debian packages, as dpkg's records list them (the status file,
 * or distroless' status.d), meet each other's Depends and Pre-Depends and conflict with nothing
 * (Conflicts, Breaks), as apt would have left them. What the base had wrong already is not shale's
 * doing and is said, not failed; an image without dpkg's records passes with a note.
 */
import { formatDependency, meets, relationsOf, type Dependency } from '../debian/relations.js';
import { installedOf, type Installed } from '../debian/resolve.js';
import { platformString } from '../oci/types.js';
import { verdict, type CheckResult, type ImageView, type LayerView } from './result.js';
import { RootFs } from './root-fs.js';

const STATUS_D = '/var/lib/dpkg/status.d';

/** dpkg's records of the layers stacked, or undefined when there are none. */
function dpkgOf(layers: readonly LayerView[]): Installed | undefined {
  const fs = new RootFs(layers.map((l) => l.entries));
  const text = (p: string): string | undefined => {
    const hit = fs.resolve(p);
    return hit?.entry.type === 'file' ? hit.entry.text : undefined;
  };
  const status = text('/var/lib/dpkg/status');
  const statusD: Record<string, string> = {};
  if (fs.isDir(STATUS_D)) for (const name of fs.list(STATUS_D)) if (!name.endsWith('.md5sums')) statusD[name] = text(`${STATUS_D}/${name}`) ?? '';
  if (status === undefined && !Object.keys(statusD).length) return undefined;
  try {
    return installedOf(status, statusD);
  } catch {
    return undefined;
  }
}

/** Every unmet dependency and every conflict among the installed packages, one line each. */
export function dpkgProblems(installed: Installed): string[] {
  const out: string[] = [];
  // Who answers to a name: the package itself, and those providing it (with the version they provide).
  const byName = new Map<string, { pkg: string; version: string | undefined; as: string }[]>();
  const add = (key: string, v: { pkg: string; version: string | undefined; as: string }): void => {
    const list = byName.get(key) ?? [];
    list.push(v);
    byName.set(key, list);
  };
  for (const [name, p] of installed.packages) {
    add(name, { pkg: name, version: p.version, as: `${name} ${p.version}` });
    for (const x of p.provides) add(x.name, { pkg: name, version: x.version, as: `${name} ${p.version}` });
  }
  const has = (d: Dependency, except?: string): string | undefined => byName.get(d.name)?.find((c) => c.pkg !== except && meets(d, c.version))?.as;
  for (const [name, p] of installed.packages) {
    for (const group of relationsOf(p.stanza, ['Pre-Depends', 'Depends']))
      if (!group.some((d) => has(d) !== undefined)) out.push(`${name} ${p.version} needs ${group.map(formatDependency).join(' | ')}, which the image lacks`);
    for (const group of relationsOf(p.stanza, ['Conflicts', 'Breaks']))
      for (const d of group) {
        const other = has(d, name);
        if (other) out.push(`${name} ${p.version} conflicts with ${other} (${formatDependency(d)})`);
      }
  }
  return out;
}

export function checkSystemPackages(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const said: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const image = dpkgOf(img.layers);
    if (!image) {
      said.push(`${plat}: no dpkg records (not a Debian-based image)`);
      continue;
    }
    const base = dpkgOf(img.layers.filter((l) => !l.shale));
    const before = new Set(base ? dpkgProblems(base) : []);
    const found = dpkgProblems(image);
    problems.push(...found.filter((p) => !before.has(p)).map((p) => `${plat}: ${p}`));
    const added = [...image.packages].filter(([n, p]) => base?.packages.get(n)?.version !== p.version).length;
    const already = found.filter((p) => before.has(p)).length;
    said.push(
      `${plat}: ${image.packages.size} packages (${added} from shale's layers) meet each other's Depends and conflict with nothing` +
        (already ? `; the base's own ${already} problem(s) left as they were (${[...before][0]})` : ''),
    );
  }
  return verdict('system-packages', problems, said.join('; '));
}
