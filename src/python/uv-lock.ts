/**
 * Reads a `uv.lock` (uv's universal lock, version 1). It holds every package for every platform
 * and Python, so what one image needs is found per target: walk the dependency graph from the
 * project's own package, following only edges whose marker holds for the target (and the extras
 * an edge asks for). Packages carry the wheels (url or path, sha256, size) the lock names.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { Fields, fileNameOf, headerLines, isTable, readTomlLock, sha256Of, type Table } from './lock-toml.js';
import { evaluateMarker, markerEnv, type MarkerEnv } from './markers.js';
import { isValidName, normalizeName } from './names.js';
import type { LockedFile, LockedPackage } from './requirements.js';
import type { TargetEnv } from './tags.js';

/** How to make a good uv.lock, for every message about a bad one. */
export const UV_REGENERATE = 'regenerate it with `uv lock`';

/** A dependency edge: which package (by name, and version/source when the lock has several), when, with which extras. */
interface Edge {
  name: string;
  version?: string;
  source?: string;
  marker?: string;
  extras: string[];
}

/** One `[[package]]` of the lock. */
interface UvPackage {
  name: string;
  version: string | undefined;
  /** JSON of the `source` table, to match edges that name a source. */
  source: string;
  /** Local code (the project, workspace members, path dependencies): walked through, not installed. */
  local: boolean;
  /** The fork markers this entry was resolved for (several versions of one package). */
  resolutionMarkers: string[];
  deps: Edge[];
  optional: Map<string, Edge[]>;
  /** `[package.dev-dependencies]`: the project's dependency groups. */
  groups: Map<string, Edge[]>;
  files: LockedFile[];
  line: number;
}

/** A read uv.lock: the packages one target needs, found by {@link UvLock.select}. */
export interface UvLock {
  /** Every installable package of the lock, for every target. */
  packages: LockedPackage[];
  /** The project's packages for `env`, with its extras and dependency groups asked for. */
  select(env: TargetEnv, opts?: { extras: string[]; groups: string[] }): LockedPackage[];
}

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (isTable(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

function edges(list: Table[], f: Fields): Edge[] {
  return list.map((d) => {
    const name = f.str(d, 'name');
    if (!name || !isValidName(name)) throw f.bad(`a dependency has no valid \`name\``);
    const e: Edge = { name: normalizeName(name), extras: f.strings(d, 'extra') };
    const version = f.str(d, 'version');
    if (version) e.version = version;
    if (d['source'] !== undefined) e.source = canonical(d['source']);
    const marker = f.str(d, 'marker');
    if (marker) e.marker = marker;
    return e;
  });
}

function wheelFile(w: Table, f: Fields, base: string, sourcePath: string | undefined): LockedFile {
  const url = f.str(w, 'url');
  const path = f.str(w, 'path');
  const filename = f.str(w, 'filename');
  const out: LockedFile = { filename: filename ?? fileNameOf(url ?? path ?? '') };
  if (url) out.url = url;
  else if (path) out.path = isAbsolute(path) ? path : resolve(base, path);
  else if (sourcePath) out.path = sourcePath;
  else throw f.bad('a wheel has no `url`, `path` or `filename`');
  const hash = f.str(w, 'hash');
  const hex = hash ? sha256Of(hash, f) : undefined;
  if (hex) out.sha256 = hex;
  const size = f.num(w, 'size');
  if (size !== undefined) out.size = size;
  return out;
}

function readPackage(p: Table, line: number, file: string, lockDir: string): UvPackage {
  const where = `${file}:${line}`;
  const rawName = p['name'];
  if (typeof rawName !== 'string' || !isValidName(rawName))
    throw new Fields(where, UV_REGENERATE).bad(`package ${JSON.stringify(rawName)} has no valid \`name\``);
  const f = new Fields(`${where} (package ${rawName})`, UV_REGENERATE);
  const source = f.table(p, 'source') ?? {};
  const local = ['virtual', 'editable', 'directory'].some((k) => source[k] !== undefined);
  if (source['git'] !== undefined) {
    throw new InputError(
      'SHALE_LOCK_UNSUPPORTED',
      `${where}: package ${rawName} comes from git (${String(source['git'])}), which needs a build; publish a wheel of it to an index or find-links and lock that (${UV_REGENERATE})`,
    );
  }
  // Wheels of a local find-links registry are relative to it; a path source is the wheel itself.
  const registry =
    typeof source['registry'] === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source['registry']) ? resolve(lockDir, source['registry']) : lockDir;
  const sourcePath = typeof source['path'] === 'string' ? resolve(lockDir, source['path']) : undefined;
  const files = f.tables(p, 'wheels').map((w) => wheelFile(w, f, registry, sourcePath));
  const sdist = f.table(p, 'sdist');
  if (sdist) files.push(wheelFile(sdist, f, registry, sourcePath));
  const edgeMap = (key: string): Map<string, Edge[]> => {
    const out = new Map<string, Edge[]>();
    for (const [name, list] of Object.entries(f.table(p, key) ?? {})) {
      if (!Array.isArray(list) || !list.every(isTable)) throw f.bad(`${key}.${name} must be an array of tables`);
      out.set(normalizeName(name), edges(list, f));
    }
    return out;
  };
  return {
    name: normalizeName(rawName),
    version: f.str(p, 'version'),
    source: canonical(source),
    local,
    resolutionMarkers: f.strings(p, 'resolution-markers'),
    deps: edges(f.tables(p, 'dependencies'), f),
    optional: edgeMap('optional-dependencies'),
    groups: edgeMap('dev-dependencies'),
    files,
    line,
  };
}

function toLocked(p: UvPackage, file: string): LockedPackage {
  const where = `${file}:${p.line}`;
  if (!p.version) {
    throw new InputError(
      'SHALE_UNPINNED',
      `${where}: package ${p.name} has no \`version\`; shale installs exactly what a lock pins. ${UV_REGENERATE[0]?.toUpperCase()}${UV_REGENERATE.slice(1)}`,
    );
  }
  const out: LockedPackage = {
    name: p.name,
    version: p.version,
    hashes: p.files.flatMap((x) => (x.sha256 ? [`sha256:${x.sha256}`] : [])),
    source: { file, line: p.line },
  };
  if (p.files.length) out.files = p.files;
  return out;
}

/** Reads a uv.lock; the project's own package (source virtual/editable ".") is where walks start. */
export async function readUvLock(file: string): Promise<UvLock> {
  const { doc, text } = await readTomlLock(file, UV_REGENERATE);
  const top = new Fields(file, UV_REGENERATE);
  if (doc['version'] !== 1) throw top.bad(`\`version\` is ${JSON.stringify(doc['version'])}; shale reads uv.lock version 1`);
  const lines = headerLines(text, 'package');
  const lockDir = dirname(file);
  const pkgs = top.tables(doc, 'package').map((p, i) => readPackage(p, lines[i] ?? 1, file, lockDir));
  const members = new Set(top.strings(top.table(doc, 'manifest') ?? {}, 'members').map(normalizeName));
  const roots = pkgs.filter((p) => (members.size ? members.has(p.name) : p.local && /"(virtual|editable)":"\."/.test(p.source)));
  if (!roots.length) {
    throw top.bad(
      'it has no package for the project itself (source = { virtual = "." } or { editable = "." }), so shale cannot tell which packages the app needs',
    );
  }
  const installable = pkgs.filter((p) => !p.local);
  // Unpinned entries fail here, whatever the target, so a bad lock fails fast.
  const packages = installable.map((p) => toLocked(p, file));
  const byName = new Map<string, UvPackage[]>();
  for (const p of pkgs) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);

  const select = (env: TargetEnv, opts: { extras: string[]; groups: string[] } = { extras: [], groups: [] }): LockedPackage[] => {
    const vars: MarkerEnv = markerEnv(env);
    const holds = (marker: string | undefined, where: string): boolean => marker === undefined || evaluateMarker(marker, vars, where);
    const target = (e: Edge, from: UvPackage): UvPackage => {
      let c = byName.get(e.name) ?? [];
      if (e.version !== undefined) c = c.filter((p) => p.version === e.version);
      if (e.source !== undefined) c = c.filter((p) => p.source === e.source);
      if (c.length > 1) c = c.filter((p) => !p.resolutionMarkers.length || p.resolutionMarkers.some((m) => holds(m, `${file}:${p.line}`)));
      const only = c[0];
      if (!only || c.length > 1) {
        throw new InputError(
          'SHALE_LOCK_SYNTAX',
          `${file}:${from.line}: ${from.name} depends on ${e.name}, which the lock has ${c.length ? `${c.length} times with no way to choose` : 'no entry for'}; ${UV_REGENERATE}`,
        );
      }
      return only;
    };
    const out = new Map<UvPackage, LockedPackage>();
    const seen = new Set<string>();
    const rootExtras = opts.extras.map(normalizeName).sort();
    for (const want of [...rootExtras, ...opts.groups.map(normalizeName)]) {
      const kind = rootExtras.includes(want) ? 'optional-dependencies' : 'dev-dependencies';
      if (!roots.some((r) => (kind === 'optional-dependencies' ? r.optional : r.groups).has(want))) {
        throw new InputError(
          'SHALE_LOCK_INCOMPLETE',
          `${file}: the project has no ${kind === 'optional-dependencies' ? `extra "${want}"` : `dependency group "${want}"`} in the lock; fix \`${kind === 'optional-dependencies' ? 'extras' : 'groups'}\` in [tool.shale] or ${UV_REGENERATE}`,
        );
      }
    }
    const groupEdges = (p: UvPackage): Edge[] => opts.groups.flatMap((g) => p.groups.get(normalizeName(g)) ?? []);
    const queue: { pkg: UvPackage; extras: string[] }[] = roots.flatMap((pkg) => [{ pkg, extras: rootExtras }]);
    for (let item = queue.shift(); item; item = queue.shift()) {
      const { pkg, extras } = item;
      const key = `${pkg.line}[${extras.join(',')}]`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!pkg.local && !out.has(pkg)) out.set(pkg, toLocked(pkg, file));
      const deps = [...pkg.deps, ...extras.flatMap((x) => pkg.optional.get(normalizeName(x)) ?? []), ...(roots.includes(pkg) ? groupEdges(pkg) : [])];
      for (const e of deps) {
        if (!holds(e.marker, `${file}:${pkg.line}`)) continue;
        const dep = target(e, pkg);
        queue.push({ pkg: dep, extras: [] });
        if (e.extras.length) queue.push({ pkg: dep, extras: [...e.extras].sort() });
      }
    }
    return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };
  return { packages, select };
}
