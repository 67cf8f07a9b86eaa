/**
 * Poetry's version constraints ("^2.31", "~1.2", "1.2.*", ">=1,<2 || >=3", "*") as PEP 440
 * specifier sets, following poetry-core's parser (constraints/version/parser.py), so a lock's
 * several entries of one package can be told apart by the constraint that asks for them.
 */
import { isVersion, pythonFits, satisfies } from './pep440.js';

/** Why a string is not a Poetry constraint; the caller adds where it came from. */
export class PoetryConstraintError extends Error {}

// poetry-core splits `and` clauses at commas or spaces, but not the space after an operator.
const AND_SPLIT = /(?<!^)(?<![~=>< ,]) *(?<!-)[, ](?!-) *(?!,|$)/;
const ANY = /^v?[xX*](\.[xX*])*$/;
const WILDCARD = /^(!=|==)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.\*)+$/;
const BASIC = /^(<>|!=|>=?|<=?|==?)?\s*(\S+?)(\.\*)?$/;

/** Release segments and the rest ("1.2.3rc1" → [1,2,3], epoch ""). */
function release(v: string): { epoch: string; parts: number[] } {
  const m = /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)/i.exec(v);
  if (!m || !isVersion(v)) throw new PoetryConstraintError(`"${v}" is not a version`);
  return { epoch: m[1] ? `${m[1]}!` : '', parts: (m[2] ?? '').split('.').map(Number) };
}

/** `>=v,<upper` where upper bumps segment `at` of v's release (the later ones dropped). */
function range(v: string, at: number): string {
  const { epoch, parts } = release(v);
  const upper = parts.slice(0, at + 1);
  while (upper.length < at + 1) upper.push(0);
  upper[at] = (upper[at] ?? 0) + 1;
  return `>=${v.replace(/^v/i, '')},<${epoch}${upper.join('.')}`;
}

/** One clause ("^1.2", "~1.2.3", ">=2", "1.*", "1.2.3") as a PEP 440 specifier set ("" for any). */
function single(clause: string): string {
  const c = clause.trim();
  if (c === '' || ANY.test(c)) return '';
  let m: RegExpExecArray | null;
  if ((m = /^~(?!=)\s*(\S+)$/.exec(c))) {
    // ~1 → <2, ~1.2 → <1.3, ~1.2.3 → <1.3
    const v = m[1] ?? '';
    return range(v, release(v).parts.length === 1 ? 0 : 1);
  }
  if ((m = /^~=\s*(\S+)$/.exec(c))) {
    // poetry-core: ~=1.2 → <2, else next minor (also for ~=1, which PEP 440 forbids)
    const v = m[1] ?? '';
    return range(v, release(v).parts.length === 2 ? 0 : 1);
  }
  if ((m = /^\^\s*(\S+)$/.exec(c))) {
    // next_breaking: the first non-zero segment (or the last one given) is bumped.
    const v = m[1] ?? '';
    const [major = 0, minor] = release(v).parts;
    const n = release(v).parts.length;
    return range(v, major > 0 || n === 1 ? 0 : (minor ?? 0) > 0 || n === 2 ? 1 : 2);
  }
  if ((m = WILDCARD.exec(c))) {
    // poetry-core widens "1.2.3.*" to the minor, as "1.2.*".
    const [, op, major, minor] = m;
    return `${op === '!=' ? '!=' : '=='}${major}${minor !== undefined ? `.${minor}` : ''}.*`;
  }
  if ((m = BASIC.exec(c))) {
    const op = m[1] === undefined || m[1] === '=' ? '==' : m[1] === '<>' ? '!=' : m[1];
    const v = m[2] === 'dev' ? '0.0.dev0' : (m[2] ?? '').replace(/^v/i, '');
    if (!isVersion(v)) throw new PoetryConstraintError(`"${c}" is not a version constraint`);
    return `${op}${v}`;
  }
  throw new PoetryConstraintError(`"${c}" is not a version constraint`);
}

/**
 * A Poetry constraint as PEP 440 specifier sets, one per `||` alternative (PEP 440 has no "or");
 * a version fits when it fits any of them; `[""]` means any version. PEP 440 specifiers
 * ("==1.2", ">=1,<2", "~=1.4") are Poetry constraints too. Throws PoetryConstraintError.
 */
export function poetryToPep440(constraint: string): string[] {
  const s = constraint.trim();
  if (s === '' || s === '*') return [''];
  return s.split(/\s*\|\|?\s*/).map((alt) =>
    alt
      .replace(/,+\s*$/, '')
      .trim()
      .split(AND_SPLIT)
      .map(single)
      .filter((x) => x !== '')
      .join(','),
  );
}

/**
 * Whether a locked version fits a Poetry constraint. Pre-releases fit: the lock pinned them, so
 * they were allowed when it was made.
 */
export function fitsPoetryConstraint(version: string, constraint: string): boolean {
  return poetryToPep440(constraint).some((spec) => satisfies(version, spec, true));
}

/**
 * Whether the target's Python ("3.11" or "3.11.7") fits a Poetry python constraint (a dependency's
 * `python = "<3.9"`, a package's `python-versions`), as Poetry's python_version markers would.
 */
export function pythonFitsPoetry(python: string, constraint: string): boolean {
  return poetryToPep440(constraint).some((spec) => pythonFits(python, spec));
}
