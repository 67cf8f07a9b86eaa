/**
 * Package relationship fields (Debian Policy 7.1): `Depends: a (>= 1.2), b | c:any` is a list of
 * alternatives groups, each satisfied by any one of its alternatives.
 */
import { field, type Stanza } from './control.js';
import { satisfies, type Relation } from './version.js';

/** One alternative: a package name, maybe an architecture qualifier (`:any`) and a version constraint. */
export interface Dependency {
  name: string;
  arch?: string;
  constraint?: { relation: Relation; version: string };
}

/** A comma-separated item: satisfied when any one alternative is. */
export type Alternatives = Dependency[];

const RELATIONS: Record<string, Relation> = { '<<': '<<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>>', '<': '<=', '>': '>=' };

/** Parses a relationship field; `what` names it for errors ("curl's Depends"). */
export function parseRelations(text: string | undefined, what: string): Alternatives[] {
  if (!text || !text.trim()) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((group) => group.split('|').map((alt) => parseOne(alt.trim(), what)));
}

function parseOne(alt: string, what: string): Dependency {
  // Architecture lists and build profiles ("[amd64]", "<!nocheck>") only occur in source
  // packages' build relations; binary indexes never carry them, so they are dropped if present.
  const m = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/i.exec(alt);
  if (!m) throw new Error(`${what}: cannot read the dependency "${alt}"`);
  const dep: Dependency = { name: m[1]!.toLowerCase() };
  if (m[2]) dep.arch = m[2];
  if (m[3] && m[4]) dep.constraint = { relation: RELATIONS[m[3]]!, version: m[4] };
  return dep;
}

/** "libc6 (>= 2.34)", as messages show a dependency. */
export function formatDependency(d: Dependency): string {
  return `${d.name}${d.arch ? `:${d.arch}` : ''}${d.constraint ? ` (${d.constraint.relation} ${d.constraint.version})` : ''}`;
}

/** Whether `version` (of a package, or what a Provides names) meets the dependency's constraint; none is needed without one. */
export const meets = (d: Dependency, version: string | undefined): boolean =>
  !d.constraint || (version !== undefined && satisfies(version, d.constraint.relation, d.constraint.version));

/** The relationship fields of a paragraph, together; a field written oddly (a base's own records) counts as empty. */
export function relationsOf(stanza: Stanza, fields: readonly string[]): Alternatives[] {
  try {
    return fields.flatMap((f) => parseRelations(field(stanza, f), f));
  } catch {
    return [];
  }
}
