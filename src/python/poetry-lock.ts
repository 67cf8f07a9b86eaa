/**
 * Reads a `poetry.lock` (lock-version 1.x from Poetry 1.0–1.4 with `[metadata.files]`, 2.0 from
 * Poetry 1.5+, 2.1 from Poetry 2 with `groups` and `markers`). Like uv.lock it holds the packages
 * of every platform and Python, so one target's packages are found by walking the dependency
 * graph from the project's roots (pyproject.toml), following the edges whose markers hold and the
 * extras asked for. The lock names files only by name and hash: they are found on the indexes
 * and find-links (and the `[package.source]` index of a package from a non-PyPI source).
 */
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { Fields, fileNameOf, headerLines, isTable, readTomlLock, sha256Of, type Table } from './lock-toml.js';
import { evaluateMarker, markerEnv } from './markers.js';
import { isValidName, matchSdistFilename, normalizeName, normalizeVersion, parseWheelFilename } from './names.js';
import { compareVersions, satisfies } from './pep440.js';
import { PoetryConstraintError, pythonFitsPoetry } from './poetry-constraint.js';
import { bindExtras, edgeHolds, poetryEdges, readPoetryProject, rootEdges, type EdgeTarget, type PoetryEdge, type PoetryRoots } from './poetry-project.js';
import { normalizeExtra, parseRequirement } from './requirement.js';
import type { LockedFile, LockedPackage } from './requirements.js';
import { describeEnv, type TargetEnv } from './tags.js';

export type { PoetryEdge, PoetryRoots } from './poetry-project.js';

/** How to make a good poetry.lock, for every message about a bad one. */
export const POETRY_REGENERATE = 'regenerate it with `poetry lock`';

/** A read poetry.lock: the packages one target needs, found by {@link PoetryLock.select}. */
export interface PoetryLock {
  /**
   * Every installable package of the lock (for any target), with files = [{ filename, sha256 }]
   * (no url or path: the files are located by name and hash through find-links and indexes) and
   * `index` = the [package.source] url for `type = "legacy"` sources.
   */
  packages: LockedPackage[];
  /** The packages one target needs: walk from the project's roots, edges whose markers hold for env, extras followed. */
  select(env: TargetEnv, opts: { extras: string[]; groups: string[] }): LockedPackage[];
}

/** One `[[package]]` of the lock. */
interface PoetryPackage {
  name: string;
  version: string | undefined;
  line: number;
  /** `[package.source]` reference: the name of the pyproject source it came from. */
  sourceRef?: string;
  /** Local code (`source.type = "directory"`): walked through, not installed. */
  local: boolean;
  /** Why shale cannot install it (git, an sdist at a URL), said when a target needs it. */
  unsupported?: string;
  deps: PoetryEdge[];
  /** Extra → the names (and their extras) it turns on. */
  extras: Map<string, { name: string; extras: string[] }[]>;
  files: LockedFile[];
  index?: string;
  pythonVersions?: string;
  /** Poetry 2 (lock-version 2.1): the groups that need it, and its marker per group. */
  groups: string[];
  markers?: string | Table;
}

const isWheel = (f: string): boolean => /\.whl$/i.test(f);

/** Files `{file, hash}` as LockedFiles; hashes other than sha256 leave the file without one. */
function lockedFiles(list: unknown, f: Fields): LockedFile[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every(isTable)) throw f.bad('`files` must be an array of {file, hash} tables');
  return list.map((t) => {
    const filename = f.str(t, 'file');
    if (!filename) throw f.bad('a file has no `file` name');
    const out: LockedFile = { filename };
    const hash = f.str(t, 'hash');
    const hex = hash ? sha256Of(hash, f) : undefined;
    if (hex) out.sha256 = hex;
    return out;
  });
}

/** Old locks keep files per name in `[metadata.files]`, shared by all versions: keep this version's. */
function ofVersion(files: LockedFile[], name: string, version: string | undefined): LockedFile[] {
  if (version === undefined) return files;
  const v = normalizeVersion(version);
  return files.filter((x) => {
    const found = parseWheelFilename(x.filename)?.version ?? matchSdistFilename(x.filename, name)?.version;
    return found === undefined || normalizeVersion(found) === v;
  });
}

/** An extras entry: "httptools (>=0.5.0)", "uvloop>=0.14 ; sys_platform != 'win32'", "cachecontrol[filecache]". */
function extraEntry(text: string, f: Fields): { name: string; extras: string[] } {
  try {
    const r = parseRequirement(text);
    return { name: r.name, extras: r.extras };
  } catch {
    // Poetry itself falls back to this for entries that are not PEP 508 (old Poetry wrote some).
    const m = /^(.+?)(?:\[(.+?)])?(?:\s+\((.+)\))?$/.exec(text.trim());
    const name = m?.[1]?.trim() ?? '';
    if (!isValidName(name)) throw f.bad(`extras entry "${text}" names no package`);
    return {
      name: normalizeName(name),
      extras: (m?.[2] ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map(normalizeExtra),
    };
  }
}

function readPackage(p: Table, line: number, file: string, lockDir: string, metaFiles: Table | undefined): PoetryPackage {
  const where = `${file}:${line}`;
  const rawName = p['name'];
  if (typeof rawName !== 'string' || !isValidName(rawName))
    throw new Fields(where, POETRY_REGENERATE).bad(`package ${JSON.stringify(rawName)} has no valid \`name\``);
  const f = new Fields(`${where} (package ${rawName})`, POETRY_REGENERATE);
  const name = normalizeName(rawName);
  const version = f.str(p, 'version');
  const from = `${where} (package ${rawName})`;
  const deps = Object.entries(f.table(p, 'dependencies') ?? {}).flatMap(([k, v]) => poetryEdges(k, v, from, (what) => f.bad(`[package.dependencies] ${what}`)));
  const extras = new Map<string, { name: string; extras: string[] }[]>();
  for (const [x, list] of Object.entries(f.table(p, 'extras') ?? {})) {
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw f.bad(`extras.${x} must be an array of strings`);
    extras.set(
      normalizeExtra(x),
      list.map((s) => extraEntry(s, f)),
    );
  }
  // Files: per package since lock-version 2.0, per name in [metadata.files] before.
  let files = lockedFiles(p['files'], f);
  if (p['files'] === undefined && metaFiles) {
    const key = Object.keys(metaFiles).find((k) => normalizeName(k) === name);
    files = ofVersion(lockedFiles(key === undefined ? undefined : metaFiles[key], f), name, version);
  }
  const groups = f.strings(p, 'groups').map(normalizeName);
  const markers = p['markers'];
  if (markers !== undefined && typeof markers !== 'string' && !isTable(markers)) throw f.bad('`markers` must be a string or a table of markers per group');
  const pkg: PoetryPackage = { name, version, line, local: false, deps, extras, files, groups };
  if (markers !== undefined) pkg.markers = markers;
  const pythonVersions = f.str(p, 'python-versions');
  if (pythonVersions !== undefined) pkg.pythonVersions = pythonVersions;

  const source = f.table(p, 'source');
  if (!source) return pkg;
  const fs = new Fields(`${where} (package ${rawName}) [package.source]`, POETRY_REGENERATE);
  const type = fs.str(source, 'type');
  const url = fs.str(source, 'url');
  const ref = fs.str(source, 'reference');
  if (ref !== undefined) pkg.sourceRef = ref;
  const publish = `publish a wheel of it to an index or find-links and lock that (${POETRY_REGENERATE})`;
  switch (type) {
    case 'legacy':
      if (url) pkg.index = url;
      break;
    case 'directory':
      pkg.local = true;
      break;
    case 'file': {
      // A local wheel or sdist, its path relative to the lock's directory.
      if (!url) throw fs.bad('a file source has no `url`');
      const path = resolve(lockDir, url);
      const hit = files.filter((x) => x.filename === basename(path));
      pkg.files = (hit.length ? hit : [{ filename: basename(path) }]).map((x) => ({ ...x, path }));
      break;
    }
    case 'url': {
      if (!url) throw fs.bad('a url source has no `url`');
      const filename = fileNameOf(url);
      if (!isWheel(filename)) {
        pkg.unsupported = `${where}: package ${rawName} is an sdist at a URL (${url}), which needs a build; ${publish}`;
        break;
      }
      const hit = files.filter((x) => x.filename === filename);
      pkg.files = (hit.length ? hit : [{ filename }]).map((x) => ({ ...x, url }));
      break;
    }
    case 'git': {
      const rev = fs.str(source, 'resolved_reference') ?? ref;
      pkg.unsupported = `${where}: package ${rawName} comes from git (${url ?? '?'}${rev ? ` at ${rev}` : ''}), which needs a build; ${publish}`;
      break;
    }
    default:
      pkg.unsupported = `${where}: package ${rawName} has a source of type ${JSON.stringify(type)}, which shale does not know; ${publish}`;
  }
  return pkg;
}

function toLocked(p: PoetryPackage, file: string): LockedPackage {
  if (!p.version) {
    throw new InputError(
      'SHALE_UNPINNED',
      `${file}:${p.line}: package ${p.name} has no \`version\`; shale installs exactly what a lock pins. Regenerate it with \`poetry lock\``,
    );
  }
  const out: LockedPackage = {
    name: p.name,
    version: p.version,
    hashes: [...new Set(p.files.flatMap((x) => (x.sha256 ? [`sha256:${x.sha256}`] : [])))],
    source: { file, line: p.line },
  };
  if (p.files.length) out.files = p.files;
  if (p.index !== undefined) out.index = p.index;
  return out;
}

/** Whether the target's Python fits a package's `python-versions`; one Poetry wrote but shale cannot read rules nothing out. */
function pythonVersionsFit(p: PoetryPackage, python: string): boolean {
  if (p.pythonVersions === undefined) return true;
  try {
    return pythonFitsPoetry(python, p.pythonVersions);
  } catch (err) {
    if (err instanceof PoetryConstraintError) return true;
    throw err;
  }
}

const byNameOrder = (a: LockedPackage, b: LockedPackage): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Reads a poetry.lock and, when given, the project's pyproject.toml (its roots). Without a
 * pyproject.toml only a lock-version 2.1 lock can be selected from (by its groups and markers).
 */
export async function readPoetryLock(file: string, pyprojectFile: string | undefined): Promise<PoetryLock> {
  const { doc, text } = await readTomlLock(file, POETRY_REGENERATE);
  const top = new Fields(file, POETRY_REGENERATE);
  const meta = top.table(doc, 'metadata');
  if (!meta) throw top.bad('it has no [metadata] table, so it is not a whole poetry.lock');
  const lockVersion = meta['lock-version'];
  const m = typeof lockVersion === 'string' ? /^(\d+)\.(\d+)$/.exec(lockVersion) : null;
  if (!m || !['1', '2'].includes(m[1] ?? '')) {
    throw top.bad(`[metadata] lock-version is ${JSON.stringify(lockVersion)}; shale reads lock-version 1.x and 2.x (Poetry 1.0 to 2.x)`);
  }
  const groupsAndMarkers = m[1] === '2' && Number(m[2]) >= 1;
  const metaFiles = top.table(meta, 'files');
  const lines = headerLines(text, 'package');
  const lockDir = dirname(file);
  const pkgs = top.tables(doc, 'package').map((p, i) => readPackage(p, lines[i] ?? 1, file, lockDir, metaFiles));
  const installable = pkgs.filter((p) => !p.local && !p.unsupported);
  // Unpinned entries fail here, whatever the target, so a bad lock fails fast.
  const locked = new Map(installable.map((p) => [p, toLocked(p, file)]));
  const byName = new Map<string, PoetryPackage[]>();
  for (const p of pkgs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);

  let roots: PoetryRoots | undefined;
  if (pyprojectFile !== undefined) roots = await readPoetryProject(pyprojectFile);
  else if (!groupsAndMarkers) {
    throw new InputError(
      'SHALE_LOCK_UNSUPPORTED',
      `${file}: lock-version ${String(lockVersion)} does not record which packages the project needs (Poetry 2's lock-version 2.1 does), and there is no pyproject.toml to read them from; keep pyproject.toml next to poetry.lock, or ${POETRY_REGENERATE} using Poetry 2`,
    );
  }

  const installed = (p: PoetryPackage): LockedPackage => {
    if (p.unsupported) throw new InputError('SHALE_LOCK_UNSUPPORTED', p.unsupported);
    const l = locked.get(p);
    if (!l) throw new Error(`poetry.lock: no locked entry for ${p.name}`); // every installable package has one
    return l;
  };

  /** Whether a package's own (lock-version 2.1) marker holds for one of the active groups. */
  const packageMarkerHolds = (p: PoetryPackage, t: EdgeTarget, extras: ReadonlySet<string>, groups: ReadonlySet<string>): boolean => {
    const where = `${file}:${p.line}`;
    const holds = (mk: unknown): boolean => typeof mk !== 'string' || evaluateMarker(bindExtras(mk, extras), t.vars, where);
    if (p.markers === undefined) return true;
    if (typeof p.markers === 'string') return holds(p.markers);
    const table = p.markers;
    const gs = p.groups.length ? p.groups : Object.keys(table).map(normalizeName);
    const tableFor = (g: string): unknown => Object.entries(table).find(([k]) => normalizeName(k) === g)?.[1];
    // A group without an entry in the table has no marker: it always holds.
    return gs.some((g) => groups.has(g) && holds(tableFor(g)));
  };

  const select = (env: TargetEnv, opts: { extras: string[]; groups: string[] }): LockedPackage[] => {
    const t: EdgeTarget = { vars: markerEnv(env), python: env.python };
    const rootExtras = new Set(opts.extras.map(normalizeExtra));
    const activeGroups = new Set(['main', ...opts.groups.map(normalizeName)]);
    if (!roots) return selectByGroups(t, rootExtras, activeGroups, opts);

    const chosen = new Map<string, PoetryPackage>();
    const choose = (e: PoetryEdge): PoetryPackage => {
      const all = byName.get(e.name) ?? [];
      const [only] = all;
      if (!only) {
        throw new InputError(
          'SHALE_LOCK_INCOMPLETE',
          `${e.from} requires ${e.name}, which ${file} has no package for, so the lock does not match the project; ${POETRY_REGENERATE}`,
        );
      }
      if (all.length === 1) return only;
      // Several entries (Poetry locks one per Python or platform range): the version the edge asks for, from its source, for this target.
      let c = all.filter((p) => p.version !== undefined && e.versions.some((s) => satisfies(p.version ?? '', s, true)));
      if (!c.length) {
        const have = all.map((p) => `${p.version ?? '?'} (line ${p.line})`).join(', ');
        throw new InputError(
          'SHALE_LOCK_INCOMPLETE',
          `${e.from} requires ${e.name} ${e.constraint}, but ${file} has ${e.name} only at ${have}, none of which fits, so the lock does not match the project; ${POETRY_REGENERATE}`,
        );
      }
      if (e.source !== undefined) {
        const s = c.filter((p) => p.sourceRef === e.source);
        if (s.length) c = s;
      }
      if (c.length > 1) {
        const fit = c.filter((p) => packageMarkerHolds(p, t, rootExtras, activeGroups) && pythonVersionsFit(p, t.python));
        if (fit.length) c = fit;
      }
      const prev = chosen.get(e.name);
      if (prev && c.includes(prev)) return prev;
      // Still several: Poetry 1 re-solves from the lock, which takes the newest that fits.
      c.sort((a, b) => compareVersions(b.version ?? '', a.version ?? ''));
      const [best, next] = c;
      if (!best) throw new Error('unreachable: no candidate');
      if (next && normalizeVersion(next.version ?? '') === normalizeVersion(best.version ?? '')) {
        throw new InputError(
          'SHALE_LOCK_SYNTAX',
          `${e.from} requires ${e.name}, which ${file} has at lines ${c.map((p) => p.line).join(' and ')} with the same version and no way to choose for this target; ${POETRY_REGENERATE}`,
        );
      }
      chosen.set(e.name, best);
      return best;
    };

    const out = new Map<PoetryPackage, LockedPackage>();
    const seen = new Set<string>();
    const queue: { pkg: PoetryPackage; extras: string[] }[] = [];
    const follow = (e: PoetryEdge, active: ReadonlySet<string>, moreExtras: string[]): void => {
      if (!edgeHolds(e, t, active)) return;
      const dep = choose(e);
      queue.push({ pkg: dep, extras: [] });
      const extras = [...new Set([...e.extras, ...moreExtras])].sort();
      if (extras.length) queue.push({ pkg: dep, extras });
    };
    for (const e of rootEdges(roots, opts)) follow(e, rootExtras, []);
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { pkg, extras } = item;
      const key = `${pkg.line}[${extras.join(',')}]`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!pkg.local && !out.has(pkg)) out.set(pkg, installed(pkg));
      // An optional dependency is followed when an active extra names it.
      const on = new Map<string, string[]>();
      for (const x of extras) for (const r of pkg.extras.get(x) ?? []) on.set(r.name, [...(on.get(r.name) ?? []), ...r.extras]);
      const active = new Set(extras);
      for (const e of pkg.deps) if (!e.optional || on.has(e.name)) follow(e, active, on.get(e.name) ?? []);
      // An extra may turn on other extras of the package itself ("all = ["pkg[a,b]"]").
      const self = on.get(pkg.name);
      if (self?.length) queue.push({ pkg, extras: [...new Set([...extras, ...self])].sort() });
    }
    return checkOnePerName([...out.values()], env).sort(byNameOrder);
  };

  /** Lock-version 2.1 without a pyproject.toml: the packages whose groups are asked for and whose marker holds. */
  const selectByGroups = (
    t: EdgeTarget,
    extras: ReadonlySet<string>,
    groups: ReadonlySet<string>,
    opts: { extras: string[]; groups: string[] },
  ): LockedPackage[] => {
    const knownGroups = new Set(pkgs.flatMap((p) => p.groups));
    const unknownGroup = opts.groups.find((g) => normalizeName(g) !== 'main' && !knownGroups.has(normalizeName(g)));
    if (unknownGroup !== undefined) {
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `${file} has no package in dependency group "${unknownGroup}" (groups: ${[...knownGroups].sort().join(', ')}); ask for one of those, or ${POETRY_REGENERATE}`,
      );
    }
    const lockExtras = Object.keys(top.table(doc, 'extras') ?? {}).map(normalizeExtra);
    const unknownExtra = opts.extras.find((x) => !lockExtras.includes(normalizeExtra(x)));
    if (unknownExtra !== undefined) {
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `${file} has no extra "${unknownExtra}" (extras: ${lockExtras.sort().join(', ') || 'none'}); ask for one of those, or ${POETRY_REGENERATE}`,
      );
    }
    const out = pkgs.filter((p) => !p.local && p.groups.some((g) => groups.has(g)) && packageMarkerHolds(p, t, extras, groups)).map(installed);
    return out.sort(byNameOrder);
  };

  /** Two versions of one name for one target: the lock and the project disagree. */
  const checkOnePerName = (list: LockedPackage[], env: TargetEnv): LockedPackage[] => {
    const seenNames = new Map<string, LockedPackage>();
    for (const p of list) {
      const prev = seenNames.get(p.name);
      if (prev) {
        throw new InputError(
          'SHALE_LOCK_CONFLICT',
          `${p.name} is needed twice with different versions for ${describeEnv(env)}: ${prev.version} at ${prev.source.file}:${prev.source.line} and ${p.version} at ${p.source.file}:${p.source.line}; ${POETRY_REGENERATE}`,
        );
      }
      seenNames.set(p.name, p);
    }
    return list;
  };

  return { packages: [...locked.values()], select };
}
