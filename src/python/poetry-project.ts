/**
 * What a Poetry project asks for, from its pyproject.toml: the roots of a poetry.lock walk. Main
 * dependencies come from `[project].dependencies` (Poetry 2; `[tool.poetry.dependencies]` then
 * only adds a `source`) or `[tool.poetry.dependencies]`; groups from `[tool.poetry.group.<g>]`,
 * the old `[tool.poetry.dev-dependencies]` (group "dev") and PEP 735 `[dependency-groups]`;
 * extras from `[project.optional-dependencies]` and `[tool.poetry.extras]`.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { InputError, ShaleError } from '../errors.js';
import { isTable, type Table } from './lock-toml.js';
import { evaluateMarker, type MarkerEnv } from './markers.js';
import { isValidName, normalizeName } from './names.js';
import { PoetryConstraintError, poetryToPep440, pythonFitsPoetry } from './poetry-constraint.js';
import { normalizeExtra, parseRequirement, RequirementSyntaxError } from './requirement.js';
import { readTextFile } from './text-file.js';

/** One dependency edge: which package, which versions of it, when, with which extras. */
export interface PoetryEdge {
  /** PEP 503 normalized. */
  name: string;
  /** The constraint as written ("^1.2", ">=1,<2"), for messages. */
  constraint: string;
  /** PEP 440 specifier sets, any of which admits a version ("" admits all). */
  versions: string[];
  /** PEP 508 marker; `extra` in it refers to the requirer's extras. */
  marker?: string;
  /** Poetry python constraint (`python = "<3.9"`). */
  python?: string;
  /** `platform = "linux"`: a sys_platform value. */
  platform?: string;
  /** PEP 685 normalized. */
  extras: string[];
  /** Needed only when one of the requirer's extras names it. */
  optional: boolean;
  /** The name of the `[[tool.poetry.source]]` it comes from. */
  source?: string;
  /** Who asks, for messages ("pyproject.toml [tool.poetry.dependencies]", "poetry.lock:12 (package flask)"). */
  from: string;
}

/** The dependencies a project declares, by where they apply. */
export interface PoetryRoots {
  file: string;
  /** The main group, always installed (optional dependencies are in `extras`). */
  deps: PoetryEdge[];
  /** Dependency groups by normalized name, included groups merged in. */
  groups: Map<string, PoetryEdge[]>;
  /** What each extra (normalized name) adds. */
  extras: Map<string, PoetryEdge[]>;
}

/** The target an edge is checked against: its marker variables and its Python X.Y(.Z). */
export interface EdgeTarget {
  vars: MarkerEnv;
  python: string;
}

// `extra == "name"` (either way round): extras are a set, so these become constants before evaluation.
const EXTRA_CMP = /\bextra\s*(==|!=)\s*(['"])([^'"]*)\2|(['"])([^'"]*)\4\s*(==|!=)\s*extra\b/g;

/**
 * A marker with each `extra == "x"` / `extra != "x"` replaced by whether x is in `extras`, as
 * Poetry evaluates them (a set of active extras, not one value); other variables stay.
 */
export function bindExtras(marker: string, extras: ReadonlySet<string>): string {
  return marker.replace(EXTRA_CMP, (_m: string, op1?: string, _q1?: string, v1?: string, _q2?: string, v2?: string, op2?: string) => {
    const has = extras.has(normalizeExtra(v1 ?? v2 ?? ''));
    return (op1 ?? op2) === '==' ? (has ? '"1" == "1"' : '"1" == "0"') : has ? '"1" == "0"' : '"1" == "1"';
  });
}

/**
 * Whether an edge applies to the target: its marker (with `extra` bound to the requirer's active
 * extras), its python constraint and its platform all hold.
 */
export function edgeHolds(e: PoetryEdge, t: EdgeTarget, extras: ReadonlySet<string>): boolean {
  if (e.marker !== undefined && !evaluateMarker(bindExtras(e.marker, extras), t.vars, e.from)) return false;
  if (e.python !== undefined && !pythonFitsPoetry(t.python, e.python)) return false;
  if (e.platform !== undefined) {
    const wanted = e.platform.split(/\s*\|\|?\s*/).map((p) => p.trim());
    if (!wanted.includes(t.vars['sys_platform'] ?? '')) return false;
  }
  return true;
}

type Bad = (what: string) => InputError;

function versionsOf(name: string, constraint: string, bad: Bad): string[] {
  try {
    return poetryToPep440(constraint);
  } catch (err) {
    if (err instanceof PoetryConstraintError) throw bad(`${name}: ${err.message}`);
    throw err;
  }
}

const strOf = (t: Table, key: string, name: string, bad: Bad): string | undefined => {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${name}: \`${key}\` must be a string`);
  return v;
};

/**
 * The edges of one Poetry dependency entry, as pyproject.toml and poetry.lock write them: a
 * constraint string, a table (`version`, `markers`, `python`, `platform`, `extras`, `optional`,
 * `source`; `path`/`git`/`url` name the package's origin, which the lock records) or an array of
 * tables, one per environment. `bad` makes the error for a malformed entry.
 */
export function poetryEdges(rawName: string, value: unknown, from: string, bad: Bad): PoetryEdge[] {
  if (!isValidName(rawName)) throw bad(`"${rawName}" is not a valid package name`);
  const name = normalizeName(rawName);
  if (typeof value === 'string') return [{ name, constraint: value, versions: versionsOf(rawName, value, bad), extras: [], optional: false, from }];
  if (Array.isArray(value)) return value.flatMap((v) => poetryEdges(rawName, v, from, bad));
  if (!isTable(value)) throw bad(`${rawName} must be a version constraint, a table or an array of tables`);
  const constraint = strOf(value, 'version', rawName, bad) ?? '*';
  const e: PoetryEdge = { name, constraint, versions: versionsOf(rawName, constraint, bad), extras: [], optional: value['optional'] === true, from };
  const extras = value['extras'];
  if (extras !== undefined) {
    if (!Array.isArray(extras) || !extras.every((x) => typeof x === 'string')) throw bad(`${rawName}: \`extras\` must be an array of strings`);
    e.extras = [...new Set(extras.map(normalizeExtra))].sort();
  }
  const marker = strOf(value, 'markers', rawName, bad);
  if (marker !== undefined && marker.trim() !== '') e.marker = marker;
  const python = strOf(value, 'python', rawName, bad);
  if (python !== undefined) {
    versionsOf(`${rawName} python`, python, bad);
    e.python = python;
  }
  const platform = strOf(value, 'platform', rawName, bad);
  if (platform !== undefined) e.platform = platform;
  const source = strOf(value, 'source', rawName, bad);
  if (source !== undefined) e.source = source;
  return [e];
}

/** A PEP 508 requirement string as an edge. */
function pep508Edge(text: unknown, from: string, bad: Bad): PoetryEdge {
  if (typeof text !== 'string') throw bad(`${JSON.stringify(text)} is not a PEP 508 requirement string`);
  try {
    const r = parseRequirement(text);
    const e: PoetryEdge = { name: r.name, constraint: r.specifier || '*', versions: [r.specifier], extras: r.extras, optional: false, from };
    if (r.marker) e.marker = r.marker;
    return e;
  } catch (err) {
    if (err instanceof RequirementSyntaxError) throw bad(err.message);
    throw err;
  }
}

const tableAt = (t: Table, path: string[]): Table | undefined => {
  let cur: unknown = t;
  for (const k of path) cur = isTable(cur) ? cur[k] : undefined;
  return isTable(cur) ? cur : undefined;
};

/**
 * Reads the dependencies a Poetry project declares. A missing or unreadable file, bad TOML and
 * malformed entries are InputErrors naming the file and table.
 */
export async function readPoetryProject(file: string): Promise<PoetryRoots> {
  let doc: Table;
  try {
    doc = parseToml(await readTextFile(file)) as Table;
  } catch (err) {
    if (err instanceof ShaleError) throw err;
    if (err instanceof TomlError) {
      throw new InputError('SHALE_CONFIG_TOML', `${file}:${err.line}:${err.column}: invalid TOML: ${err.message.split('\n')[0] ?? ''}`, { cause: err });
    }
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InputError(
      'SHALE_LOCK_MISSING',
      `cannot read ${file} (${code}), which says which packages of poetry.lock the project needs; keep pyproject.toml next to poetry.lock`,
      { cause: err },
    );
  }
  return poetryRoots(doc, file);
}

/** The roots from a parsed pyproject.toml (see {@link readPoetryProject}). */
export function poetryRoots(doc: Table, file: string): PoetryRoots {
  const bad =
    (where: string): Bad =>
    (what) =>
      new InputError('SHALE_CONFIG_INVALID', `${file} ${where}: ${what}; fix pyproject.toml, then regenerate the lock with \`poetry lock\``);
  const poetry = tableAt(doc, ['tool', 'poetry']) ?? {};
  const project = tableAt(doc, ['project']) ?? {};
  const fromTable = (t: Table | undefined, where: string): PoetryEdge[] =>
    Object.entries(t ?? {}).flatMap(([k, v]) => (k === 'python' ? [] : poetryEdges(k, v, `${file} ${where}`, bad(where))));
  const fromList = (list: unknown, where: string): PoetryEdge[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw bad(where)('must be an array of PEP 508 strings');
    return list.map((s) => pep508Edge(s, `${file} ${where}`, bad(where)));
  };

  // Main: [project].dependencies when present; [tool.poetry.dependencies] then only enriches it.
  const toolDeps = fromTable(tableAt(poetry, ['dependencies']), '[tool.poetry.dependencies]');
  let main: PoetryEdge[];
  if (project['dependencies'] !== undefined) {
    main = fromList(project['dependencies'], '[project].dependencies');
    for (const e of main) {
      const source = toolDeps.find((t) => t.name === e.name && t.source !== undefined)?.source;
      if (source !== undefined) e.source = source;
    }
  } else main = toolDeps;

  const extras = new Map<string, PoetryEdge[]>();
  const addExtra = (name: string, edges: PoetryEdge[]): void => {
    const key = normalizeExtra(name);
    extras.set(key, [...(extras.get(key) ?? []), ...edges]);
  };
  const optDeps = project['optional-dependencies'];
  if (optDeps !== undefined && !isTable(optDeps)) throw bad('[project.optional-dependencies]')('must be a table');
  for (const [x, list] of Object.entries(optDeps ?? {})) addExtra(x, fromList(list, `[project.optional-dependencies].${x}`));
  for (const [x, names] of Object.entries(tableAt(poetry, ['extras']) ?? {})) {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw bad('[tool.poetry.extras]')(`${x} must be an array of package names`);
    const wanted = new Set(names.map(normalizeName));
    addExtra(
      x,
      main.filter((e) => wanted.has(e.name)).map((e) => ({ ...e, optional: false })),
    );
  }

  const groups = new Map<string, PoetryEdge[]>();
  const includes = new Map<string, string[]>();
  const addGroup = (g: string, edges: PoetryEdge[], incl: string[] = []): void => {
    const key = normalizeName(g);
    groups.set(key, [...(groups.get(key) ?? []), ...edges]);
    includes.set(key, [...(includes.get(key) ?? []), ...incl.map(normalizeName)]);
  };
  const devDeps = tableAt(poetry, ['dev-dependencies']);
  if (devDeps) addGroup('dev', fromTable(devDeps, '[tool.poetry.dev-dependencies]'));
  for (const [g, t] of Object.entries(tableAt(poetry, ['group']) ?? {})) {
    if (!isTable(t)) throw bad(`[tool.poetry.group.${g}]`)('must be a table');
    const incl = t['include-groups'] ?? [];
    if (!Array.isArray(incl) || !incl.every((x) => typeof x === 'string'))
      throw bad(`[tool.poetry.group.${g}]`)('`include-groups` must be an array of group names');
    addGroup(g, fromTable(tableAt(t, ['dependencies']), `[tool.poetry.group.${g}.dependencies]`), incl);
  }
  const pep735 = doc['dependency-groups'];
  if (pep735 !== undefined && !isTable(pep735)) throw bad('[dependency-groups]')('must be a table');
  for (const [g, list] of Object.entries(pep735 ?? {})) {
    if (!Array.isArray(list)) throw bad(`[dependency-groups].${g}`)('must be an array');
    const incl = list.flatMap((x) => (isTable(x) && typeof x['include-group'] === 'string' ? [x['include-group']] : []));
    addGroup(
      g,
      fromList(
        list.filter((x) => !isTable(x)),
        `[dependency-groups].${g}`,
      ),
      incl,
    );
  }
  // Included groups are merged in, so a group is one list of edges.
  const expand = (g: string, stack: string[]): PoetryEdge[] => {
    if (stack.includes(g)) throw bad('dependency groups')(`group ${g} includes itself (${[...stack, g].join(' → ')})`);
    if (!groups.has(g)) throw bad('dependency groups')(`group ${stack[stack.length - 1] ?? ''} includes group ${g}, which is not defined`);
    return [...(groups.get(g) ?? []), ...(includes.get(g) ?? []).flatMap((i) => expand(i, [...stack, g]))];
  };
  const merged = new Map([...groups.keys()].map((g) => [g, expand(g, [])]));

  return { file, deps: main.filter((e) => !e.optional), groups: merged, extras };
}

/**
 * The root edges for the extras and groups asked for (the main group always). An extra or group
 * the project does not define is an InputError, as `poetry install --extras/--with` would give.
 */
export function rootEdges(roots: PoetryRoots, opts: { extras: string[]; groups: string[] }): PoetryEdge[] {
  const out = [...roots.deps];
  for (const x of opts.extras) {
    const edges = roots.extras.get(normalizeExtra(x));
    if (!edges) throw unknown(roots.file, 'extra', x, [...roots.extras.keys()]);
    out.push(...edges);
  }
  for (const g of opts.groups) {
    const key = normalizeName(g);
    if (key === 'main') continue;
    const edges = roots.groups.get(key);
    if (!edges) throw unknown(roots.file, 'dependency group', g, [...roots.groups.keys()]);
    out.push(...edges);
  }
  return out;
}

function unknown(file: string, what: string, name: string, known: string[]): InputError {
  const list = known.length ? `it defines ${known.sort().join(', ')}` : `it defines none`;
  return new InputError(
    'SHALE_CONFIG_INVALID',
    `${file} has no ${what} "${name}" (${list}); ask for one of those, or add it to pyproject.toml and run \`poetry lock\``,
  );
}
