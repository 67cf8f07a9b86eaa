/**
 * Which .debs to install: the requested packages and, recursively, what their Depends and
 * Pre-Depends need, minus what the base already has installed (dpkg's status). Like `apt-get
 * install --no-install-recommends`: per dependency, an installed or already chosen package that
 * satisfies it wins; else the first alternative the index can satisfy, newest version first; a
 * virtual package is satisfied by its providers (sorted by name, the first that resolves). An
 * installed package too old for a constraint is replaced by a newer one from the index. No
 * backtracking: Debian's archives are made consistent, so a greedy choice is what apt makes too.
 * Then the result is checked as a whole: a base package whose Depends a replacement broke, or
 * that a new package Conflicts with or Breaks, is upgraded from the index when that mends it;
 * otherwise the build stops naming both (apt would remove one; shale never removes anything).
 */
import { InputError } from '../errors.js';
import { field, parseStanzas, type Stanza } from './control.js';
import type { DebPackage, PackageIndex } from './package-index.js';
import { packageOf } from './package-index.js';
import { formatDependency, meets, relationsOf, type Alternatives, type Dependency } from './relations.js';
import { compareVersions } from './version.js';

/** What the base has installed: name → version and what it provides. */
export interface Installed {
  packages: Map<string, { version: string; provides: { name: string; version?: string }[]; architecture: string; stanza: Stanza }>;
}

/** The installed packages of dpkg's status text and status.d files (only those in state "installed"). */
export function installedOf(status: string | undefined, statusD: Record<string, string>): Installed {
  const packages: Installed['packages'] = new Map();
  const add = (text: string, what: string, needStatus: boolean) => {
    for (const s of parseStanzas(text, what)) {
      const st = field(s, 'Status');
      if (needStatus && !(st && st.split(/\s+/)[2] === 'installed')) continue;
      const p = packageOf(s, '', what);
      packages.set(p.name, { version: p.version, provides: p.provides, architecture: p.architecture, stanza: s });
    }
  };
  if (status !== undefined) add(status, '/var/lib/dpkg/status', true);
  for (const [name, text] of Object.entries(statusD).sort()) if (!name.endsWith('.md5sums')) add(text, `/var/lib/dpkg/status.d/${name}`, false);
  return { packages };
}

/** A chosen package and why: the chain of packages that needed it (empty when it was asked for). */
export interface Chosen {
  pkg: DebPackage;
  chain: string[];
  /** The base's version it replaces, when the base had an older one. */
  replaces?: string;
}

/** The result: packages to install in a stable order (by name), and those the base already had. */
export interface Resolution {
  install: Chosen[];
  alreadyInstalled: string[];
}

/**
 * Resolves `requested` (package names, maybe `name=version`) against `index` on top of
 * `installed`. Errors are InputErrors naming the package: unknown (with close names), or a
 * dependency nothing satisfies (with the chain that led to it and the versions there are).
 */
export function resolvePackages(requested: readonly string[], index: PackageIndex, installed: Installed, what: string): Resolution {
  const chosen = new Map<string, Chosen>();
  const already: string[] = [];
  const queue: Chosen[] = [];

  const providedBy = (d: Dependency): boolean => {
    for (const c of chosen.values()) if (c.pkg.provides.some((p) => p.name === d.name && meets(d, p.version))) return true;
    for (const [name, i] of installed.packages) if (!chosen.has(name) && i.provides.some((p) => p.name === d.name && meets(d, p.version))) return true;
    return false;
  };
  const satisfied = (d: Dependency): boolean => {
    const c = chosen.get(d.name);
    if (c) return meets(d, c.pkg.version);
    const i = installed.packages.get(d.name);
    if (i && meets(d, i.version)) return true;
    return providedBy(d);
  };
  const choose = (pkg: DebPackage, chain: string[]): void => {
    const i = installed.packages.get(pkg.name);
    const c: Chosen = { pkg, chain, ...(i ? { replaces: i.version } : {}) };
    chosen.set(pkg.name, c);
    queue.push(c);
  };
  /** A candidate of the index for one alternative: the real package's newest fitting version, else a provider. */
  const candidate = (d: Dependency): DebPackage | undefined => {
    const real = index.versions(d.name).find((p) => meets(d, p.version));
    if (real) return real;
    for (const name of index.providersOf(d.name)) {
      const p = index.versions(name).find((v) => v.provides.some((x) => x.name === d.name && meets(d, x.version)));
      if (p && !(chosen.has(p.name) && chosen.get(p.name)!.pkg.version !== p.version)) return p;
    }
    return undefined;
  };

  for (const req of requested) {
    const m = /^([a-z0-9][a-z0-9+.-]*)(?:=(.+))?$/.exec(req.trim().toLowerCase());
    if (!m)
      throw new InputError(
        'SHALE_SYSTEM_PACKAGE',
        `${what}: "${req}" is not a Debian package name (lowercase letters, digits, "+", "-", "."; optionally =VERSION)`,
      );
    const [, name, version] = m as unknown as [string, string, string | undefined];
    const versions = index.versions(name);
    if (!versions.length) {
      if (installed.packages.has(name) && !version) {
        already.push(name);
        continue;
      }
      const providers = index.providersOf(name);
      if (providers.length)
        throw new InputError(
          'SHALE_SYSTEM_PACKAGE',
          `${what}: "${name}" is a virtual package, provided by ${providers.slice(0, 8).join(', ')}; name one of them`,
        );
      throw new InputError('SHALE_SYSTEM_PACKAGE', `${what}: no Debian package "${name}" in the package index${closeNames(name, index)}`);
    }
    const inst = installed.packages.get(name);
    if (!version && inst) {
      already.push(name);
      continue;
    }
    const pkg = version ? versions.find((p) => p.version === version) : versions[0];
    if (!pkg)
      throw new InputError(
        'SHALE_SYSTEM_PACKAGE',
        `${what}: "${name}" has no version ${version ?? ''} in the package index (it has ${versions.map((p) => p.version).join(', ')})`,
      );
    if (inst && inst.version === pkg.version) {
      already.push(name);
      continue;
    }
    if (!chosen.has(name)) choose(pkg, []);
  }

  const drain = (): void => {
    while (queue.length) {
      const c = queue.shift()!;
      const chain = [...c.chain, `${c.pkg.name} ${c.pkg.version}`];
      for (const group of c.pkg.depends) {
        if (group.some(satisfied)) continue;
        const pick = pickAlternative(group, candidate);
        if (!pick) throw unsatisfiable(what, chain, group, index, installed);
        if (chosen.has(pick.name)) throw unsatisfiable(what, chain, group, index, installed);
        choose(pick, chain);
      }
    }
  };
  drain();
  // What apt does too: the base's packages keep working when one they need is replaced, and
  // nothing installed conflicts with (or breaks) anything else. A base package in the way is
  // upgraded from the index when that mends it; else the build stops, naming both.
  for (let fix = consistency(what, index, installed, chosen); fix; fix = consistency(what, index, installed, chosen)) {
    choose(fix.pkg, fix.chain);
    drain();
  }
  const install = [...chosen.values()].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : 0));
  return { install, alreadyInstalled: [...new Set(already)].sort() };
}

/** One system layer's request and what it came to. */
export interface GroupResolution extends Resolution {
  name: string;
}

/**
 * Resolves each group (a system layer's packages, lowest first) over the base and the groups
 * below it: a package a lower group installs counts as installed for the ones above, so each
 * package lands in the lowest layer that needs it.
 */
export function resolveGroups(
  groups: readonly { name: string; packages: readonly string[] }[],
  index: PackageIndex,
  installed: Installed,
  what: (group: string) => string,
): GroupResolution[] {
  const below: Installed = { packages: new Map(installed.packages) };
  return groups.map((g) => {
    const r = resolvePackages(g.packages, index, below, what(g.name));
    for (const { pkg } of r.install)
      below.packages.set(pkg.name, { version: pkg.version, provides: pkg.provides, architecture: pkg.architecture, stanza: pkg.stanza });
    return { name: g.name, ...r };
  });
}

/** A package as it stands after the resolution: chosen, or the base's. */
interface Standing {
  name: string;
  version: string;
  provides: { name: string; version?: string }[];
  stanza: Stanza;
  /** The chain that chose it; undefined for the base's own. */
  chain?: string[];
}

const hits = (d: Dependency, p: Standing): boolean =>
  (p.name === d.name && meets(d, p.version)) || p.provides.some((x) => x.name === d.name && meets(d, x.version));

/**
 * One base package to upgrade so the result is consistent, or undefined when it is; an
 * InputError when upgrading cannot mend it: a base package whose dependency a replacement broke
 * and the index has nothing newer of, or two packages that conflict (Conflicts, Breaks).
 */
function consistency(what: string, index: PackageIndex, installed: Installed, chosen: Map<string, Chosen>): Chosen | undefined {
  const standing: Standing[] = [
    ...[...chosen.values()].map((c) => ({ name: c.pkg.name, version: c.pkg.version, provides: c.pkg.provides, stanza: c.pkg.stanza, chain: c.chain })),
    ...[...installed.packages].filter(([name]) => !chosen.has(name)).map(([name, i]) => ({ name, version: i.version, provides: i.provides, stanza: i.stanza })),
  ];
  const holds = (d: Dependency, among: readonly Standing[]): boolean => among.some((p) => hits(d, p));
  const before = [...installed.packages].map(([name, i]) => ({ name, version: i.version, provides: i.provides, stanza: i.stanza }));
  const said = (p: Standing): string =>
    `${p.name} ${p.version}${p.chain ? (p.chain.length ? ` (needed by ${p.chain.join(' → ')})` : ' (asked for)') : " (the base's)"}`;
  const upgrade = (p: Standing, why: string, error: () => InputError): Chosen => {
    const newer = index.versions(p.name)[0];
    if (!newer || compareVersions(newer.version, p.version) <= 0) throw error();
    return { pkg: newer, chain: [why], replaces: p.version };
  };
  for (const p of standing) {
    if (p.chain) continue;
    for (const group of relationsOf(p.stanza, ['Pre-Depends', 'Depends'])) {
      // Only what the base itself had working: a base already broken is not shale's to mend.
      if (group.some((d) => holds(d, standing)) || !group.some((d) => holds(d, before))) continue;
      const replaced = group.flatMap((d) => (chosen.get(d.name)?.replaces ? [chosen.get(d.name)!] : []));
      const cause = replaced.map((c) => `${c.pkg.name} ${c.pkg.version} replaces the base's ${c.replaces}`).join(', ') || 'a replacement';
      return upgrade(
        p,
        `the base's ${p.name} needs ${group.map(formatDependency).join(' | ')}`,
        () =>
          new InputError(
            'SHALE_SYSTEM_BREAKS',
            `${what}: ${cause}, but the base's ${p.name} ${p.version} needs ${group.map(formatDependency).join(' | ')} and the index has no newer ` +
              `${p.name} to go with it; pin the version the base has (e.g. "${replaced[0]?.pkg.name ?? group[0]!.name}=${replaced[0]?.replaces ?? ''}") ` +
              'and what needs it to one that works with it, or use a base of the same release as the index',
          ),
      );
    }
  }
  for (const p of standing) {
    for (const group of relationsOf(p.stanza, ['Conflicts', 'Breaks'])) {
      for (const d of group) {
        for (const q of standing) {
          if (q.name === p.name || !hits(d, q) || (!p.chain && !q.chain)) continue;
          const error = (): InputError =>
            new InputError(
              'SHALE_SYSTEM_CONFLICT',
              `${what}: ${said(p)} conflicts with ${said(q)} (${formatDependency(d)}); apt would remove one of them, shale never removes a ` +
                "package: leave one out of system-packages, or use a base without the base's one",
            );
          // A base package in the way: a newer one may no longer be (or may not conflict any more).
          if (!q.chain) return upgrade(q, `${p.name} ${p.version} conflicts with ${q.name} ${q.version}`, error);
          if (!p.chain) return upgrade(p, `${p.name} ${p.version} conflicts with ${q.name} ${q.version}`, error);
          throw error();
        }
      }
    }
  }
  return undefined;
}

function pickAlternative(group: Alternatives, candidate: (d: Dependency) => DebPackage | undefined): DebPackage | undefined {
  for (const d of group) {
    const p = candidate(d);
    if (p) return p;
  }
  return undefined;
}

function unsatisfiable(what: string, chain: string[], group: Alternatives, index: PackageIndex, installed: Installed): InputError {
  const have = group.map((d) => {
    const versions = index.versions(d.name).map((p) => p.version);
    const inst = installed.packages.get(d.name)?.version;
    const parts = [
      versions.length
        ? `the index has ${versions.join(', ')}`
        : index.providersOf(d.name).length
          ? `provided by ${index.providersOf(d.name).join(', ')}`
          : 'not in the index',
      ...(inst ? [`the base has ${inst}`] : []),
    ];
    return `${d.name}: ${parts.join('; ')}`;
  });
  return new InputError(
    'SHALE_SYSTEM_UNSATISFIABLE',
    `${what}: ${chain.join(' → ')} needs ${group.map(formatDependency).join(' | ')}, which nothing satisfies (${have.join('; ')}); ` +
      'pin other versions in system-packages, or point apt-sources at a mirror or snapshot that has them',
  );
}

/** ", did you mean: a, b?" for names close to `name` (a shared prefix or a small edit distance). */
function closeNames(name: string, index: PackageIndex): string {
  const scored: [number, string][] = [];
  for (const n of index.names()) {
    if (Math.abs(n.length - name.length) > 3 && !n.startsWith(name)) continue;
    const d = n.startsWith(name) ? 1 + (n.length - name.length) / 100 : distance(name, n, 3);
    if (d <= 3) scored.push([d, n]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  const best = scored.slice(0, 5).map((s) => s[1]);
  return best.length ? `; close names: ${best.join(', ')}` : '; check the name (`apt-cache search` on a Debian machine finds packages)';
}

/** Levenshtein distance, giving up past `limit`. */
function distance(a: string, b: string, limit: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let min = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      min = Math.min(min, v);
    }
    if (min > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length]!;
}
