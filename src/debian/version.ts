/**
 * Debian version comparison (Debian Policy 5.6.12): `[epoch:]upstream[-revision]`, compared
 * epoch first (numerically), then upstream, then revision, each by dpkg's algorithm: runs of
 * non-digits compared character by character where letters sort before non-letters and `~`
 * sorts before everything (even the end of the string), alternating with runs of digits
 * compared as numbers.
 */

/** A version split into its three parts; `revision` is "" when absent (dpkg treats that as "0"). */
export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Splits a version string. Throws on an epoch that is not a number (a damaged index). */
export function parseVersion(v: string): DebVersion {
  const s = v.trim();
  const colon = s.indexOf(':');
  let epoch = 0;
  let rest = s;
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new Error(`invalid Debian version "${v}": its epoch is not a number`);
    epoch = Number(e);
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/** dpkg's order of one character in a non-digit run: `~` lowest, then the end, letters, then the rest. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Compares two upstream or revision strings as dpkg's `verrevcmp` does. */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Negative, zero or positive as version `a` is older than, the same as, or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

/** The relations of a versioned dependency: `<<`, `<=`, `=`, `>=`, `>>` (and the obsolete `<`, `>`, which mean `<=`, `>=`). */
export type Relation = '<<' | '<=' | '=' | '>=' | '>>';

/** Whether `version` satisfies `relation ref` (as in `Depends: libc6 (>= 2.34)`). */
export function satisfies(version: string, relation: Relation, ref: string): boolean {
  const c = compareVersions(version, ref);
  switch (relation) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
