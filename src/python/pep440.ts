/**
 * PEP 440 versions and specifiers, through @renovatebot/pep440 (a full implementation of the
 * spec, pre-release rules included), behind the few calls the resolver and checks need.
 */
import pep440 from '@renovatebot/pep440';

/**
 * Results by argument: the library parses both sides with regular expressions on every call,
 * and a resolution asks the same questions thousands of times. Bounded, cleared when full.
 */
function memo<T>(limit = 20_000): (key: string, make: () => T) => T {
  const m = new Map<string, T>();
  return (key, make) => {
    let v = m.get(key);
    if (v === undefined) {
      if (m.size >= limit) m.clear();
      v = make();
      m.set(key, v);
    }
    return v;
  };
}
const validMemo = memo<boolean>();
const preMemo = memo<boolean>();
const satisfiesMemo = memo<boolean>();
const fitsMemo = memo<boolean>();

/** Whether `v` is a valid PEP 440 version. */
export function isVersion(v: string): boolean {
  return validMemo(v, () => pep440.valid(v) !== null);
}

/** Orders two valid versions (negative when a < b); invalid ones sort first, by text. */
export function compareVersions(a: string, b: string): number {
  const va = isVersion(a);
  const vb = isVersion(b);
  if (va && vb) return pep440.compare(a, b);
  if (va !== vb) return va ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a version is a pre- or dev-release (PEP 440 "Pre-releases"). */
export function isPrerelease(v: string): boolean {
  return preMemo(v, () => pep440.explain(v)?.is_prerelease ?? false);
}

/** Whether the specifier names a pre-release itself (`>=2.0b1`), which admits pre-releases (PEP 440). */
export function mentionsPrerelease(specifier: string): boolean {
  return specifier
    .split(',')
    .map((c) => c.replace(/^[<>=!~]+/, ''))
    .some((v) => v !== '' && !v.includes('*') && isPrerelease(v));
}

/**
 * Whether `version` is in `specifier` ("" admits every version). Pre-releases match only when
 * `pre` says so; the caller decides that by PEP 440's rules (named by the specifier, or nothing
 * else available).
 */
export function satisfies(version: string, specifier: string, pre = false): boolean {
  if (!isVersion(version)) return false;
  if (specifier === '') return pre || !isPrerelease(version);
  return satisfiesMemo(`${version}|${specifier}|${pre}`, () => pep440.satisfies(version, specifier, { prereleases: pre || mentionsPrerelease(specifier) }));
}

/** Whether a specifier set is valid PEP 440. */
export function isSpecifier(specifier: string): boolean {
  return specifier === '' || pep440.validRange(specifier);
}

/**
 * Whether an interpreter of Python `python` ("3.11" or "3.11.7") fits `Requires-Python`. With no
 * patch level known, any 3.11.x that fits counts: the base's exact patch is rarely known, and
 * ruling a package out on a guess would be worse than a rare late failure.
 */
export function pythonFits(python: string, requiresPython: string | undefined): boolean {
  return fitsMemo(`${python}|${requiresPython ?? ''}`, () => fits(python, requiresPython));
}

function fits(python: string, requiresPython: string | undefined): boolean {
  const spec = (requiresPython ?? '').replace(/\s+/g, '');
  if (spec === '' || !isSpecifier(spec)) return true; // pip ignores an invalid Requires-Python too
  const parts = python.split('.');
  if (parts.length >= 3) return satisfies(parts.slice(0, 3).join('.'), spec, true);
  const [major, minor] = parts;
  return [0, 99].some((patch) => satisfies(`${major}.${minor}.${patch}`, spec, true)) || satisfies(`${major}.${minor}`, spec, true);
}
