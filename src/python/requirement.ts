/**
 * PEP 508 dependency specifiers ("name[extra1,extra2] (>=1.0,<2) ; python_version < '3.12'"),
 * as they appear in requirements files, `Requires-Dist`, `[project].dependencies` and locks.
 */
import { isValidName, normalizeName } from './names.js';

/** One parsed dependency specifier. */
export interface Requirement {
  /** PEP 503 normalized. */
  name: string;
  /** As written, for messages. */
  rawName: string;
  /** PEP 685 normalized, sorted, unique. */
  extras: string[];
  /** PEP 440 specifier set, comma-separated, no spaces ("" for any version). */
  specifier: string;
  /** The environment marker after `;`, if any. */
  marker?: string;
  /** A direct reference (`name @ https://...`). */
  url?: string;
}

/** Why a string is not a PEP 508 requirement; the caller adds where it came from. */
export class RequirementSyntaxError extends Error {}

/** PEP 685: extras compare by their PEP 503 normal form. */
export const normalizeExtra = normalizeName;

const SPEC_OP = /^(===|==|!=|<=|>=|~=|<|>)\s*([A-Za-z0-9_.*+!-]+)$/;

/** Normalizes a specifier set: clauses trimmed, joined by "," ("" when empty); invalid clauses throw. */
export function normalizeSpecifier(spec: string): string {
  const s = spec.trim();
  if (!s) return '';
  return s
    .split(',')
    .map((c) => {
      const m = SPEC_OP.exec(c.trim());
      if (!m) throw new RequirementSyntaxError(`"${c.trim()}" is not a version specifier (like >=1.0 or ==2.1.*)`);
      return `${m[1]}${m[2]}`;
    })
    .join(',');
}

/** Splits off the marker: the first `;` outside quotes (a URL may hold `;` only before a space). */
function splitMarker(text: string): [string, string | undefined] {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ';') {
      // In `name @ url ; marker` the `;` must follow whitespace (PEP 508); inside a URL it is data.
      if (text.includes('@') && !/\s$/.test(text.slice(0, i)) && /@\s*\S*$/.test(text.slice(0, i))) continue;
      const marker = text.slice(i + 1).trim();
      return [text.slice(0, i).trim(), marker || undefined];
    }
  }
  return [text.trim(), undefined];
}

/**
 * Parses one PEP 508 requirement. Old-style parentheses around the specifier (`Requires-Dist:
 * foo (>=1.0)`) are accepted, as every installer does.
 */
export function parseRequirement(text: string): Requirement {
  const [head, marker] = splitMarker(text);
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$/s.exec(head);
  const rawName = m?.[1];
  if (!m || !rawName || !isValidName(rawName)) throw new RequirementSyntaxError(`"${text.trim()}" does not start with a package name`);
  const extras = [
    ...new Set(
      (m[2] ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== ''),
    ),
  ];
  for (const e of extras) if (!isValidName(e)) throw new RequirementSyntaxError(`"${e}" is not a valid extra name`);
  let rest = (m[3] ?? '').trim();
  const out: Requirement = { name: normalizeName(rawName), rawName, extras: extras.map(normalizeExtra).sort(), specifier: '' };
  if (rest.startsWith('@')) {
    const url = rest.slice(1).trim();
    if (!url || /\s/.test(url)) throw new RequirementSyntaxError(`"${text.trim()}" has no valid URL after "@"`);
    out.url = url;
    rest = '';
  }
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1);
  out.specifier = normalizeSpecifier(rest);
  if (marker) out.marker = marker;
  return out;
}

/** The requirement as PEP 508 text ("name[a,b]>=1,<2; marker"), for messages and locks. */
export function formatRequirement(r: Pick<Requirement, 'name' | 'extras' | 'specifier' | 'marker' | 'url'>): string {
  let s = r.name + (r.extras.length ? `[${r.extras.join(',')}]` : '');
  if (r.url) s += ` @ ${r.url}`;
  else s += r.specifier;
  if (r.marker) s += `${r.url ? ' ' : ''}; ${r.marker}`;
  return s;
}
