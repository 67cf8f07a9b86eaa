/**
 * Reads a pinned requirements.txt (pip's format, as written by pip-compile, `uv pip compile`
 * or `pip freeze`) into locked packages. Nothing is resolved: every line must pin one version.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { evaluateMarker, markerEnv } from './markers.js';
import { isValidName, normalizeName, normalizeVersion } from './names.js';
import { describeEnv, type TargetEnv } from './tags.js';

/** One pinned package of a lock. */
export interface LockedPackage {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  /** Allowed file hashes, as 'sha256:hex'. Empty when the lock has none. */
  hashes: string[];
  /** PEP 508 environment marker, as written after `;`. */
  marker?: string;
  source: { file: string; line: number };
  /**
   * The files the lock itself lists for this package (pylock.toml, uv.lock): wheels are then
   * chosen among these, named by their hash and size, with no index or find-links lookup.
   */
  files?: LockedFile[];
}

/** A distribution file a lock names: where it is and what it hashes to. */
export interface LockedFile {
  filename: string;
  url?: string;
  /** Absolute local path. */
  path?: string;
  /** Hex. */
  sha256?: string;
  size?: number;
}

/** Index options found in requirements files (pip's names). */
export interface RequirementsOptions {
  indexUrl?: string;
  extraIndexUrls: string[];
  /** URLs as written; directories made absolute relative to the file that names them, as pip does. */
  findLinks: string[];
  noIndex: boolean;
  /** Other options pip would accept that do not change what gets installed (--trusted-host, --pre, ...). */
  ignored: string[];
}

/** A requirements file and the files it includes, read. */
export interface Requirements {
  packages: LockedPackage[];
  options: RequirementsOptions;
}

export const HOW_TO_PIN =
  'shale installs exactly what a lock pins and never resolves versions. Pin every package, e.g. with ' +
  '`uv pip compile requirements.in -o requirements.txt`, `pip-compile requirements.in` (pip-tools), ' +
  'or `pip freeze > requirements.txt` from a working environment.';

/** Options that take a value and are harmless to ignore for installing wheels. */
const IGNORED_WITH_VALUE = new Set(['--trusted-host', '--use-feature', '--only-binary', '--no-binary', '--config-settings', '--global-option']);
const IGNORED_FLAGS = new Set(['--pre', '--prefer-binary', '--require-hashes', '--no-deps']);

/** Reads the packages of a requirements file (with its `-r` includes). See `readRequirements`. */
export async function parseRequirements(file: string): Promise<LockedPackage[]> {
  return (await readRequirements(file)).packages;
}

/**
 * Reads a requirements file and its `-r` includes: pinned packages (with hashes and markers) and
 * index options. Unpinned or unsupported lines are InputErrors naming file:line and what to do.
 */
export async function readRequirements(file: string): Promise<Requirements> {
  const options: RequirementsOptions = { extraIndexUrls: [], findLinks: [], noIndex: false, ignored: [] };
  const packages: LockedPackage[] = [];
  await readInto(resolve(file), options, packages, []);
  return { packages: mergeDuplicates(packages), options };
}

interface Line {
  text: string;
  line: number;
}

/** Joins `\` continuations and drops comments (pip's req_file preprocessing order). */
export function logicalLines(content: string): Line[] {
  const out: Line[] = [];
  const raw = content.split(/\r?\n/);
  let buf: string | undefined;
  let start = 0;
  raw.forEach((text, i) => {
    // As pip's join_lines: a comment line never continues, and it ends a continued line.
    const comment = /^\s*#/.test(text);
    const cont = !comment && text.endsWith('\\');
    if (buf === undefined) {
      buf = '';
      start = i + 1;
    }
    buf += comment ? ` ${text}` : cont ? text.slice(0, -1) : text;
    if (!cont) {
      const stripped = buf.replace(/(^|\s+)#.*$/, '').trim();
      if (stripped) out.push({ text: stripped, line: start });
      buf = undefined;
    }
  });
  if (buf !== undefined) {
    const stripped = buf.replace(/(^|\s+)#.*$/, '').trim();
    if (stripped) out.push({ text: stripped, line: start });
  }
  return out;
}

async function readInto(file: string, options: RequirementsOptions, packages: LockedPackage[], stack: string[]): Promise<void> {
  if (stack.includes(file)) {
    throw new InputError('SHALE_LOCK_CYCLE', `requirements file ${file} includes itself (via ${stack.join(' → ')}); remove the -r cycle`);
  }
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    const via = stack.length ? ` (included from ${stack[stack.length - 1]})` : '';
    throw new InputError('SHALE_LOCK_MISSING', `cannot read requirements file ${file}${via}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check the path`, { cause: err });
  }
  for (const { text, line } of logicalLines(content)) {
    const where = `${file}:${line}`;
    if (text.startsWith('-')) {
      await readOption(text, where, file, options, packages, [...stack, file]);
    } else {
      packages.push(parseRequirementLine(text, file, line));
    }
  }
}

function optionValue(text: string, names: string[]): string | undefined {
  for (const n of names) {
    const m = new RegExp(`^${n}(?:\\s*=\\s*|\\s+)(\\S+)$`).exec(text);
    if (m?.[1]) return m[1];
    if (!n.startsWith('--') && text.startsWith(n) && text.length > n.length && !/\s/.test(text.slice(n.length))) {
      return text.slice(n.length); // "-rother.txt"
    }
  }
  return undefined;
}

const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

async function readOption(text: string, where: string, file: string, options: RequirementsOptions, packages: LockedPackage[], stack: string[]): Promise<void> {
  const flag = text.split(/[\s=]/, 1)[0] ?? text;
  let v: string | undefined;
  if ((v = optionValue(text, ['--requirement', '-r'])) !== undefined) {
    if (isUrl(v)) throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: -r with a URL (${v}) is not supported; download the file and include it by path`);
    await readInto(resolve(dirname(file), v), options, packages, stack);
  } else if ((v = optionValue(text, ['--index-url', '-i'])) !== undefined) {
    options.indexUrl = v;
  } else if ((v = optionValue(text, ['--extra-index-url'])) !== undefined) {
    options.extraIndexUrls.push(v);
  } else if ((v = optionValue(text, ['--find-links', '-f'])) !== undefined) {
    options.findLinks.push(isUrl(v) ? v : resolve(dirname(file), v.replace(/^file:/, '')));
  } else if (flag === '--no-index') {
    options.noIndex = true;
  } else if (IGNORED_FLAGS.has(flag) || IGNORED_WITH_VALUE.has(flag)) {
    options.ignored.push(text);
  } else if (flag === '-e' || flag === '--editable') {
    throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: editable installs (${text}) cannot go into an image; put local packages in [[tool.shale.layers]] paths (e.g. paths = ["libs/mylib"]) and remove this line`);
  } else if (flag === '-c' || flag === '--constraint') {
    throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: constraints files (${text}) need a resolver; compile a fully pinned lock instead (uv pip compile requirements.in -c constraints.txt -o requirements.txt)`);
  } else {
    throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: unknown option "${flag}" in requirements file; remove it or use a lock pip-compile / uv writes`);
  }
}

/**
 * Parses one requirement line ("name[extra]==1.0 ; marker --hash=sha256:..."). pip splits
 * arguments from options at the first word that starts with "-".
 */
export function parseRequirementLine(text: string, file: string, line: number): LockedPackage {
  const where = `${file}:${line}`;
  const words = text.split(/\s+/);
  const firstOpt = words.findIndex((w) => w.startsWith('-'));
  const req = (firstOpt < 0 ? words : words.slice(0, firstOpt)).join(' ');
  const opts = firstOpt < 0 ? [] : words.slice(firstOpt);
  const hashes: string[] = [];
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i] ?? '';
    let h: string | undefined;
    if (o.startsWith('--hash=')) h = o.slice('--hash='.length);
    else if (o === '--hash') h = opts[++i];
    else if (/^--(global-option|config-settings|install-option)/.test(o)) {
      if (!o.includes('=')) i++;
      continue;
    } else throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: unknown option "${o}" on a requirement line; remove it`);
    const m = h === undefined ? null : /^(sha256):([0-9a-fA-F]{64})$/.exec(h);
    if (!m) {
      throw new InputError('SHALE_BAD_HASH', `${where}: hash "${h ?? ''}" is not sha256:<64 hex digits>; shale checks sha256 hashes only (pip-compile --generate-hashes and uv write them)`);
    }
    hashes.push(`sha256:${(m[2] ?? '').toLowerCase()}`);
  }
  const semi = req.indexOf(';');
  const spec = (semi < 0 ? req : req.slice(0, semi)).trim();
  const marker = semi < 0 ? undefined : req.slice(semi + 1).trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) || spec.startsWith('.') || spec.startsWith('/') || /\s@\s|^[^\s\[=<>~!]+@/.test(spec)) {
    throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: "${spec}" is a URL or path requirement; shale installs pinned versions from an index or find-links. Publish the wheel to a find-links directory and pin it as name==version`);
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(spec);
  const rawName = m?.[1];
  if (!m || !rawName || !isValidName(rawName)) {
    throw new InputError('SHALE_LOCK_SYNTAX', `${where}: cannot read requirement "${text}"; expected name==version`);
  }
  const pin = /^===?\s*([^\s,*]+)$/.exec((m[3] ?? '').trim());
  if (!pin?.[1]) {
    const got = (m[3] ?? '').trim() || 'no version';
    throw new InputError('SHALE_UNPINNED', `${where}: ${rawName} is not pinned (${got}); every package needs ==version. ${HOW_TO_PIN}`);
  }
  const out: LockedPackage = { name: normalizeName(rawName), version: pin[1], hashes, source: { file, line } };
  if (marker) out.marker = marker;
  return out;
}

/** Same name, same version and same marker: one package with the union of hashes. */
function mergeDuplicates(pkgs: LockedPackage[]): LockedPackage[] {
  const out: LockedPackage[] = [];
  for (const p of pkgs) {
    const same = out.find((q) => q.name === p.name && (q.marker ?? '') === (p.marker ?? ''));
    if (!same) {
      out.push(p);
      continue;
    }
    if (normalizeVersion(same.version) !== normalizeVersion(p.version)) {
      throw conflict(same, p);
    }
    for (const h of p.hashes) if (!same.hashes.includes(h)) same.hashes.push(h);
  }
  return out;
}

function conflict(a: LockedPackage, b: LockedPackage, env?: TargetEnv): InputError {
  const forEnv = env ? ` for ${describeEnv(env)}` : '';
  return new InputError(
    'SHALE_LOCK_CONFLICT',
    `${a.name} is pinned twice with different versions${forEnv}: ${a.version} at ${a.source.file}:${a.source.line} and ${b.version} at ${b.source.file}:${b.source.line}; keep one pin (recompile the lock)`,
  );
}

/**
 * The packages that apply to a target: markers evaluated for it, and at most one version per
 * name (two pins that both apply are an error).
 */
export function selectForEnv(pkgs: readonly LockedPackage[], env: TargetEnv, extraVars: Record<string, string> = {}): LockedPackage[] {
  const vars = { ...markerEnv(env), ...extraVars };
  const out = new Map<string, LockedPackage>();
  for (const p of pkgs) {
    if (p.marker && !evaluateMarker(p.marker, vars, `${p.source.file}:${p.source.line}`)) continue;
    const prev = out.get(p.name);
    if (prev && normalizeVersion(prev.version) !== normalizeVersion(p.version)) throw conflict(prev, p, env);
    if (prev) {
      prev.hashes = [...new Set([...prev.hashes, ...p.hashes])];
      if (p.files) prev.files = [...(prev.files ?? []), ...p.files];
      continue;
    }
    out.set(p.name, { ...p, hashes: [...p.hashes] });
  }
  return [...out.values()];
}
