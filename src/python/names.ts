/**
 * Python package names, versions and wheel filenames, as the packaging specs define them:
 * PEP 503 (name normalization), PEP 440 (versions, lightly) and PEP 427 (wheel filenames).
 */

/** PEP 503 normalized name: lower case, runs of `-`, `_`, `.` become one `-` ("Flask_SQL" → "flask-sql"). */
export function normalizeName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

/** Whether a string is a valid project name (PEP 508 identifier). */
export function isValidName(name: string): boolean {
  return /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/.test(name);
}

const VERSION_RE = new RegExp(
  '^v?(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?:[-_.]?(?<preL>alpha|beta|preview|pre|a|b|c|rc)[-_.]?(?<preN>[0-9]+)?)?' +
    '(?:-(?<postN1>[0-9]+)|[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?)?' +
    '(?:[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
);

const PRE_SPELLING: Record<string, string> = { alpha: 'a', beta: 'b', c: 'rc', pre: 'rc', preview: 'rc' };

/**
 * A light PEP 440 normalization so that "1.0.0RC1", "1.0.0-rc.1" and "1.0.0rc1" compare equal.
 * Release segments keep their length ("1.0" and "1.0.0" stay different), which is enough to
 * match a locked version against file names. Strings that are not PEP 440 are only lower-cased.
 */
export function normalizeVersion(version: string): string {
  const s = version.trim().toLowerCase();
  const m = VERSION_RE.exec(s);
  const g = m?.groups;
  if (!g || g.release === undefined) return s;
  let out = '';
  if (g.epoch !== undefined && Number(g.epoch) !== 0) out += `${Number(g.epoch)}!`;
  out += g.release
    .split('.')
    .map((n) => String(Number(n)))
    .join('.');
  if (g.preL !== undefined) out += `${PRE_SPELLING[g.preL] ?? g.preL}${Number(g.preN ?? 0)}`;
  if (g.postN1 !== undefined) out += `.post${Number(g.postN1)}`;
  else if (g.postL !== undefined) out += `.post${Number(g.postN2 ?? 0)}`;
  if (g.devL !== undefined) out += `.dev${Number(g.devN ?? 0)}`;
  if (g.local !== undefined) out += `+${g.local.replace(/[-_]/g, '.')}`;
  return out;
}

/** The parts of a wheel filename (PEP 427), with compressed tag sets expanded. */
export interface WheelName {
  /** The distribution name as written in the file name (not normalized). */
  name: string;
  version: string;
  build?: { number: number; tag: string };
  pyTags: string[];
  abiTags: string[];
  platTags: string[];
  /** Every `py-abi-plat` combination the file declares. */
  tags: string[];
}

/**
 * Parses `name-version(-build)?-py-abi-plat.whl`. Returns undefined for anything that is not a
 * well-formed wheel file name, so listings with other files can be filtered with it.
 */
export function parseWheelFilename(filename: string): WheelName | undefined {
  if (!filename.endsWith('.whl')) return undefined;
  const parts = filename.slice(0, -'.whl'.length).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [name, version] = parts;
  const [py, abi, plat] = parts.slice(-3);
  if (!name || !version || !py || !abi || !plat) return undefined;
  let build: WheelName['build'];
  if (parts.length === 6) {
    const b = /^(\d+)(.*)$/.exec(parts[2] ?? '');
    if (!b) return undefined;
    build = { number: Number(b[1]), tag: b[2] ?? '' };
  }
  const pyTags = py.split('.');
  const abiTags = abi.split('.');
  const platTags = plat.split('.');
  const tags: string[] = [];
  for (const p of pyTags) for (const a of abiTags) for (const t of platTags) tags.push(`${p}-${a}-${t}`);
  const out: WheelName = { name, version, pyTags, abiTags, platTags, tags };
  if (build) out.build = build;
  return out;
}

/** Whether a wheel is pure Python for every tag it declares (abi `none`, platform `any`). */
export function isPureWheel(w: WheelName): boolean {
  return w.abiTags.every((a) => a === 'none') && w.platTags.every((p) => p === 'any');
}

const SDIST_EXTS = ['.tar.gz', '.zip', '.tar.bz2', '.tar.xz', '.tgz', '.tar'];

/**
 * Splits a source distribution file name into name and version when it belongs to the given
 * project. Old sdists may have dashes inside the name, so every split point is tried.
 */
export function matchSdistFilename(filename: string, project: string): { name: string; version: string } | undefined {
  const ext = SDIST_EXTS.find((e) => filename.toLowerCase().endsWith(e));
  if (!ext) return undefined;
  const stem = filename.slice(0, -ext.length);
  const want = normalizeName(project);
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
    const name = stem.slice(0, i);
    if (normalizeName(name) === want) return { name, version: stem.slice(i + 1) };
  }
  return undefined;
}
