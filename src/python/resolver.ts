/**
 * A dependency resolver, as pip and uv resolve: for one target image, pick one version of every
 * package the requirements reach, so that every requirement (with its extras, and markers
 * evaluated for the target) is met and every package's Requires-Python fits the image's Python.
 *
 * The search is depth-first over decisions ("package X is version V"), most constrained package
 * first, highest (or preferred) version first; the state is derived again from the decisions
 * after each one, so extras and dependencies added later are never missed. A package with no
 * version left jumps back to the latest decision that constrains it (conflict-directed
 * backjumping), so unrelated decisions are not retried. When nothing works, the error explains
 * the conflict in the words of the requirements ("flask 3.1.3 requires werkzeug>=3.1, but
 * requirements.txt:2 pins werkzeug==2.0.3").
 */
import { InputError } from '../errors.js';
import { evaluateMarker, markerEnv, type MarkerEnv } from './markers.js';
import { compareVersions, mentionsPrerelease, pythonFits, satisfies } from './pep440.js';
import { formatRequirement, normalizeExtra, parseRequirement, RequirementSyntaxError, type Requirement } from './requirement.js';
import { describeEnv, type TargetEnv } from './tags.js';
import { platformString } from '../oci/types.js';

/** A requirement of the project itself, and where it was written ("requirements.txt:3"). */
export interface RootRequirement {
  req: Requirement;
  source: string;
}

/** One version of a package as the sources offer it for the target. */
export interface VersionInfo {
  version: string;
  /** Whether the target can use it: a fitting wheel (or a buildable sdist), a fitting Requires-Python. */
  usable: boolean;
  /** Why not, when unusable ("no wheel for linux/arm64; wheels: ..."). */
  why?: string;
  /** PEP 592: every file of this version is yanked (the reason, or ''). */
  yanked?: string;
}

/** What the resolver needs from package sources; see provider.ts. */
export interface ResolverProvider {
  /** Every version the sources have for a package (usable or not), in any order. */
  versions(name: string): Promise<VersionInfo[]>;
  /** The core metadata of one version, for the target: its Requires-Dist (raw) and Requires-Python. */
  metadata(name: string, version: string): Promise<{ requiresDist: string[]; requiresPython?: string; providesExtra?: string[] }>;
}

export interface ResolveRequest {
  roots: RootRequirement[];
  /** `-c` constraints: they narrow versions but never add a package. */
  constraints?: RootRequirement[];
  /** Versions to try first (the pins of an existing lock), by normalized name. */
  preferences?: ReadonlyMap<string, string>;
  /** pip's --pre: pre-releases are candidates everywhere. */
  allowPre?: boolean;
  env: TargetEnv;
  /** Called with each decision, for progress. */
  onDecision?: (name: string, version: string) => void;
}

/** One package of the result. */
export interface ResolvedNode {
  name: string;
  version: string;
  /** Extras asked of it (normalized, sorted). */
  extras: string[];
  /** Who required it: parents' names, or the root source ("requirements.txt:3"). Sorted, unique. */
  requiredBy: string[];
  /** Whether the chosen version is yanked (PEP 592 allows it only when pinned exactly); the reason. */
  yanked?: string;
}

/** Stops a resolution that would take too long; pip's resolver gives up in the same spirit. */
const MAX_ROUNDS = 20_000;

/** A requirement on a package, with who asked for it. */
interface Criterion {
  specifier: string;
  extras: string[];
  /** The parent's name, or undefined for the project's own requirements and constraints. */
  parent?: string;
  /** "flask 3.1.3" or "requirements.txt:2", for messages. */
  by: string;
  constraint: boolean;
}

interface Frame {
  name: string;
  candidates: string[];
  index: number;
  /** Names of decisions that any failure below this frame depended on (conflict-directed backjumping). */
  conflicts: Set<string>;
  /** The parents of this package's criteria when it was decided: they limited its candidates. */
  parents: Set<string>;
}

/** Why a package had no version left: its criteria, and what exists. */
interface Conflict {
  name: string;
  criteria: Criterion[];
  versions: VersionInfo[];
  /** A pinned version that a new requirement rules out. */
  pinned?: string;
  /** The version whose metadata ruled it out, and why. */
  detail?: string;
}

function describeSpec(name: string, c: Criterion): string {
  const text = `${name}${c.extras.length ? `[${c.extras.join(',')}]` : ''}${c.specifier}`;
  if (c.parent === undefined) return `${c.by} ${c.constraint ? 'constrains' : c.specifier.startsWith('==') ? 'pins' : 'requires'} ${text}`;
  return `${c.by} requires ${text}`;
}

/**
 * The versions of a package that meet every criterion, in the order given (newest first);
 * pre-releases only by PEP 440's rules; a preferred version first.
 */
function admissible(versions: VersionInfo[], criteria: Criterion[], allowPre: boolean, preferred: string | undefined): string[] {
  const specs = criteria.map((c) => c.specifier).filter((s) => s !== '');
  const exactPins = new Set(specs.filter((s) => /^===?[^,]*$/.test(s)).map((s) => s.replace(/^===?/, '')));
  const pre = allowPre || specs.some(mentionsPrerelease);
  const pick = (withPre: boolean): string[] =>
    versions
      .filter((v) => v.usable)
      // PEP 592: a yanked version only for a requirement that pins it exactly.
      .filter((v) => v.yanked === undefined || [...exactPins].some((p) => satisfies(v.version, `==${p}`, true)))
      .filter((v) => (specs.length ? specs.every((s) => satisfies(v.version, s, withPre)) : satisfies(v.version, '', withPre)))
      .map((v) => v.version);
  let out = pick(pre);
  // PEP 440: pre-releases are accepted when no final release satisfies the specifier.
  if (out.length === 0 && !pre) out = pick(true);
  if (preferred !== undefined) {
    const i = out.findIndex((v) => compareVersions(v, preferred) === 0);
    if (i > 0) out.unshift(...out.splice(i, 1));
  }
  return out;
}

/** The packages a resolution chose, and what it noticed on the way (extras a package does not have). */
export interface ResolveResult {
  packages: ResolvedNode[];
  warnings: string[];
}

/** Resolves `req.roots` for `req.env`; see the file comment. Errors are InputErrors that explain. */
export async function resolve(req: ResolveRequest, provider: ResolverProvider): Promise<ResolveResult> {
  const vars: MarkerEnv = markerEnv(req.env);
  const markerMemo = new Map<string, boolean>();
  const holds = (marker: string | undefined, extra: string, where: string): boolean => {
    if (marker === undefined) return true;
    const key = `${extra}\0${marker}`;
    let v = markerMemo.get(key);
    if (v === undefined) {
      v = evaluateMarker(marker, { ...vars, extra }, where);
      markerMemo.set(key, v);
    }
    return v;
  };

  const versionCache = new Map<string, Promise<VersionInfo[]>>();
  const versionsOf = (name: string): Promise<VersionInfo[]> => {
    let p = versionCache.get(name);
    if (!p) {
      // Sorted once, newest first: candidates keep this order after filtering.
      p = provider.versions(name).then((vs) => [...vs].sort((a, b) => compareVersions(b.version, a.version)));
      versionCache.set(name, p);
    }
    return p;
  };
  /** Parsed dependencies of name==version: base ones (extra '') and per extra. */
  interface Deps {
    requires: Requirement[];
    requiresPython?: string;
    providesExtra: Set<string>;
  }
  const depsCache = new Map<string, Promise<Deps>>();
  const depsOf = (name: string, version: string): Promise<Deps> => {
    const key = `${name}==${version}`;
    let p = depsCache.get(key);
    if (!p) {
      p = provider.metadata(name, version).then((m) => {
        const requires = m.requiresDist.map((text) => {
          try {
            return parseRequirement(text);
          } catch (err) {
            const msg = err instanceof RequirementSyntaxError ? err.message : String(err);
            throw new InputError(
              'SHALE_BAD_METADATA',
              `${name} ${version} declares a dependency shale cannot read (Requires-Dist: ${text}): ${msg}; pin another version of ${name}`,
            );
          }
        });
        const out: Deps = { requires, providesExtra: new Set((m.providesExtra ?? []).map(normalizeExtra)) };
        if (m.requiresPython !== undefined) out.requiresPython = m.requiresPython;
        return out;
      });
      depsCache.set(key, p);
    }
    return p;
  };

  const rootCriteria = new Map<string, Criterion[]>();
  const addTo = (map: Map<string, Criterion[]>, name: string, c: Criterion): void => {
    const list = map.get(name);
    if (list) list.push(c);
    else map.set(name, [c]);
  };
  const rootNames: string[] = [];
  for (const r of req.roots) {
    if (!holds(r.req.marker, '', r.source)) continue;
    if (!rootNames.includes(r.req.name)) rootNames.push(r.req.name);
    addTo(rootCriteria, r.req.name, { specifier: r.req.specifier, extras: r.req.extras, by: r.source, constraint: false });
  }
  const constraints = new Map<string, Criterion[]>();
  for (const r of req.constraints ?? []) {
    if (!holds(r.req.marker, '', r.source)) continue;
    addTo(constraints, r.req.name, { specifier: r.req.specifier, extras: [], by: r.source, constraint: true });
  }

  const pins = new Map<string, string>();
  const stack: Frame[] = [];
  /** Discovery order of names, for stable choices and messages. */
  const order = new Map<string, number>();
  rootNames.forEach((n) => order.set(n, order.size));
  let lastConflict: Conflict | undefined;
  const unknownExtras = new Set<string>();

  /** Criteria of every required package, given the pins: roots, then each pinned package's dependencies. */
  const derive = async (): Promise<{ criteria: Map<string, Criterion[]>; broken?: Conflict }> => {
    const criteria = new Map<string, Criterion[]>();
    for (const [n, list] of rootCriteria) criteria.set(n, [...list]);
    const expanded = new Map<string, Set<string>>(); // name → extras already expanded ('' = base)
    for (let changed = true; changed;) {
      changed = false;
      for (const [name, list] of [...criteria]) {
        const version = pins.get(name);
        if (version === undefined) continue;
        const want = new Set(['', ...list.flatMap((c) => c.extras)]);
        const done = expanded.get(name) ?? new Set<string>();
        const todo = [...want].filter((x) => !done.has(x));
        if (!todo.length) continue;
        const deps = await depsOf(name, version);
        if (!pythonFits(req.env.python, deps.requiresPython)) {
          return {
            criteria,
            broken: {
              name,
              criteria: list,
              versions: await versionsOf(name),
              pinned: version,
              detail: `${name} ${version} requires Python ${deps.requiresPython}, and the image has Python ${req.env.python}`,
            },
          };
        }
        for (const extra of todo) {
          done.add(extra);
          if (extra && deps.providesExtra.size && !deps.providesExtra.has(extra)) unknownExtras.add(`${name} ${version} has no extra "${extra}"`);
          for (const r of deps.requires) {
            const where = `Requires-Dist of ${name} ${version}`;
            if (extra === '' ? !holds(r.marker, '', where) : !holds(r.marker, extra, where) || holds(r.marker, '', where)) continue;
            if (r.url)
              throw new InputError(
                'SHALE_LOCK_UNSUPPORTED',
                `${name} ${version} requires ${formatRequirement(r)}, a direct URL; shale installs from indexes and find-links only. Put that wheel in a find-links directory`,
              );
            if (r.name === name) {
              // A package asking for its own extras ("pkg[all]" requiring "pkg[a]"): expand them too.
              for (const x of r.extras)
                if (!want.has(x)) addTo(criteria, name, { specifier: '', extras: [x], parent: name, by: `${name} ${version}`, constraint: false });
              continue;
            }
            if (!order.has(r.name)) order.set(r.name, order.size);
            addTo(criteria, r.name, { specifier: r.specifier, extras: r.extras, parent: name, by: `${name} ${version}`, constraint: false });
          }
        }
        expanded.set(name, done);
        changed = true;
      }
    }
    for (const [name, list] of constraints) if (criteria.has(name)) criteria.get(name)?.push(...list);
    // A pinned package that a later requirement rules out.
    for (const [name, list] of criteria) {
      const v = pins.get(name);
      if (v !== undefined && !list.every((c) => satisfies(v, c.specifier, true))) {
        return { criteria, broken: { name, criteria: list, versions: await versionsOf(name), pinned: v } };
      }
    }
    return { criteria };
  };

  /** Decisions a conflict on `c` depends on: the package itself (if pinned) and every parent of its criteria. */
  const conflictNames = (c: Conflict): Set<string> => {
    const out = new Set<string>();
    if (pins.has(c.name)) out.add(c.name);
    for (const cr of c.criteria) if (cr.parent !== undefined) out.add(cr.parent);
    return out;
  };

  /** Undoes decisions down to the latest one in `conflicts` and moves it to its next candidate. */
  const backjump = (conflicts: Set<string>): boolean => {
    while (stack.length) {
      const top = stack[stack.length - 1] as Frame;
      if (!conflicts.has(top.name)) {
        stack.pop();
        pins.delete(top.name);
        continue;
      }
      for (const n of conflicts) if (n !== top.name) top.conflicts.add(n);
      top.index++;
      if (top.index < top.candidates.length) {
        pins.set(top.name, top.candidates[top.index] as string);
        return true;
      }
      stack.pop();
      pins.delete(top.name);
      // Every candidate failed: for the reasons gathered, or because of what limited the candidates.
      conflicts = new Set([...top.conflicts, ...top.parents]);
      conflicts.delete(top.name);
    }
    return false;
  };

  for (let round = 0; ; round++) {
    if (round > MAX_ROUNDS) {
      throw new InputError(
        'SHALE_RESOLUTION_TOO_COMPLEX',
        `resolving the requirements for ${describeEnv(req.env)} tried ${MAX_ROUNDS} combinations without success${lastConflict ? `; the last conflict: ${explainConflict(lastConflict)}` : ''}. Pin more versions (or tighten ranges) so fewer combinations remain`,
      );
    }
    const { criteria, broken } = await derive();
    let conflict = broken;
    if (!conflict) {
      // The most constrained open package next: exact pins first, then fewest candidates.
      const open = [...criteria.keys()].filter((n) => !pins.has(n));
      if (!open.length) return { packages: await result(criteria, pins, versionsOf), warnings: [...unknownExtras].sort() };
      const choices = await Promise.all(
        open.map(async (name) => {
          const list = criteria.get(name) ?? [];
          return { name, list, candidates: admissible(await versionsOf(name), list, req.allowPre === true, req.preferences?.get(name)) };
        }),
      );
      choices.sort((a, b) => a.candidates.length - b.candidates.length || (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
      const next = choices[0];
      if (next && next.candidates.length > 0) {
        // Start fetching the metadata of what comes next while this decision is derived.
        for (const c of choices) if (c.candidates[0]) void depsOf(c.name, c.candidates[0]).catch(() => undefined);
        const parents = new Set(next.list.flatMap((c) => (c.parent === undefined ? [] : [c.parent])));
        stack.push({ name: next.name, candidates: next.candidates, index: 0, conflicts: new Set(), parents });
        pins.set(next.name, next.candidates[0] as string);
        req.onDecision?.(next.name, next.candidates[0] as string);
        continue;
      }
      if (next) conflict = { name: next.name, criteria: next.list, versions: await versionsOf(next.name) };
    }
    if (!conflict) continue;
    lastConflict = conflict;
    if (!backjump(conflictNames(conflict))) throw resolutionError(conflict, req.env);
  }
}

async function result(
  criteria: Map<string, Criterion[]>,
  pins: Map<string, string>,
  versionsOf: (n: string) => Promise<VersionInfo[]>,
): Promise<ResolvedNode[]> {
  const out: ResolvedNode[] = [];
  for (const [name, list] of criteria) {
    const version = pins.get(name) as string;
    const extras = [...new Set(list.flatMap((c) => c.extras))].sort();
    const requiredBy = [...new Set(list.filter((c) => !c.constraint && c.parent !== name).map((c) => c.parent ?? c.by))].sort();
    const node: ResolvedNode = { name, version, extras, requiredBy };
    const yanked = (await versionsOf(name)).find((v) => compareVersions(v.version, version) === 0)?.yanked;
    if (yanked !== undefined) node.yanked = yanked;
    out.push(node);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MAX_LISTED = 12;

function listVersions(versions: VersionInfo[]): string {
  const usable = versions
    .filter((v) => v.usable)
    .map((v) => v.version)
    .sort((a, b) => compareVersions(b, a));
  if (!usable.length) return 'none';
  return usable.length > MAX_LISTED ? `${usable.slice(0, MAX_LISTED).join(', ')}, and ${usable.length - MAX_LISTED} older` : usable.join(', ');
}

/** One sentence on why a package has no version that fits. */
function explainConflict(c: Conflict): string {
  const rules = c.criteria.map((cr) => describeSpec(c.name, cr));
  if (c.detail) return c.detail;
  if (c.pinned !== undefined) {
    const bad = c.criteria.filter((cr) => !satisfies(c.pinned as string, cr.specifier, true));
    const good = c.criteria.filter((cr) => satisfies(c.pinned as string, cr.specifier, true));
    if (bad.length && good.length)
      return `${bad.map((cr) => describeSpec(c.name, cr)).join(' and ')}, but ${good.map((cr) => describeSpec(c.name, cr)).join(' and ')}`;
  }
  if (c.versions.length === 0) return `${rules.join(', and ')}, but no source has any file for ${c.name}`;
  const usable = c.versions.filter((v) => v.usable);
  if (usable.length === 0) {
    const whys = [...new Set(c.versions.map((v) => v.why).filter((w): w is string => !!w))];
    return `${rules.join(', and ')}, but no version of ${c.name} can be installed on this target: ${whys.slice(0, 3).join('; ')}`;
  }
  if (rules.length >= 2) {
    // Name the pair that cannot hold together when there is one; else all of them.
    for (let i = 0; i < c.criteria.length; i++) {
      for (let j = i + 1; j < c.criteria.length; j++) {
        const a = c.criteria[i] as Criterion;
        const b = c.criteria[j] as Criterion;
        if (!usable.some((v) => satisfies(v.version, a.specifier, true) && satisfies(v.version, b.specifier, true))) {
          const [first, second] = a.parent === undefined && b.parent !== undefined ? [b, a] : [a, b];
          return `${describeSpec(c.name, first)}, but ${describeSpec(c.name, second)}`;
        }
      }
    }
  }
  const unusable = c.versions.filter((v) => !v.usable && c.criteria.every((cr) => satisfies(v.version, cr.specifier, true)));
  const note = unusable.length
    ? ` (${unusable
        .slice(0, 3)
        .map((v) => `${v.version}: ${v.why ?? 'not usable'}`)
        .join('; ')})`
    : '';
  const yanked = c.versions.filter((v) => v.yanked !== undefined && c.criteria.every((cr) => satisfies(v.version, cr.specifier, true)));
  const y = yanked.length ? ` (yanked, so not chosen unless pinned with ==: ${yanked.map((v) => v.version).join(', ')})` : '';
  return `${rules.join(', and ')}, but no version of ${c.name} satisfies ${rules.length > 1 ? 'all of these' : 'it'}${note}${y}`;
}

function resolutionError(c: Conflict, env: TargetEnv): InputError {
  const found = [...new Set(c.versions.map((v) => v.version))].sort((a, b) => compareVersions(b, a));
  const available =
    c.versions.some((v) => v.usable) || found.length === 0
      ? `Versions of ${c.name} available: ${listVersions(c.versions)}.`
      : `Versions of ${c.name} found: ${found.slice(0, MAX_LISTED).join(', ')}, none installable on ${platformString(env.platform)}.`;
  return new InputError(
    'SHALE_RESOLUTION_IMPOSSIBLE',
    `cannot find versions that satisfy the requirements for ${describeEnv(env)}: ${explainConflict(c)}. ${available} Change the requirement at fault (loosen a pin, or pin a version that fits), or add a wheel that fits to find-links.`,
  );
}
