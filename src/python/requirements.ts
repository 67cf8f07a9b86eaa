/**
 * Reads requirements files as pip does (`pip install -r`): each line is a requirement (a pin, a
 * range, a bare name, with extras and markers), `-c` files constrain versions, `-r` includes,
 * index options apply. With hashes (pip's hash-checking mode: `--require-hashes`, or any
 * `--hash` on a line) the file is a lock: every line must pin one version, and what it pins is
 * installed exactly and checked for completeness.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { evaluateMarker, markerEnv } from './markers.js';
import { normalizeVersion } from './names.js';
import { parseRequirement, RequirementSyntaxError, type Requirement } from './requirement.js';
import { describeEnv, type TargetEnv } from './tags.js';
import { readTextFile } from './text-file.js';

/** One pinned package of a lock. */
export interface LockedPackage {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  /** Allowed file hashes, as 'sha256:hex'. Empty when the lock has none. */
  hashes: string[];
  /** PEP 508 environment marker, as written after `;`. */
  marker?: string;
  /** Extras the lock asks of it (normalized), when the lock says: checked for completeness. */
  extras?: string[];
  source: { file: string; line: number };
  /**
   * The files the lock itself lists for this package (pylock.toml, uv.lock): wheels are then
   * chosen among these, named by their hash and size, with no index or find-links lookup.
   */
  files?: LockedFile[];
  /**
   * The simple index that serves this package's files when the lock names only file names and
   * hashes (poetry.lock's `[package.source]`); find-links and the configured indexes are searched too.
   */
  index?: string;
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
  /** `--pre`: pre-releases are candidates everywhere. */
  pre?: boolean;
  /** Other options pip would accept that do not change what gets installed (--trusted-host, ...). */
  ignored: string[];
}

/** One requirement line, with the hashes pip would check and where it was written. */
export interface RequirementLine {
  req: Requirement;
  /** Allowed file hashes, as 'sha256:hex'. */
  hashes: string[];
  source: { file: string; line: number };
}

/** A requirements file and the files it includes, read. */
export interface Requirements {
  file: string;
  /** The requirements, in file order (`-r` includes in place). */
  lines: RequirementLine[];
  /** Lines of `-c` constraints files: they narrow versions but never add a package. */
  constraints: RequirementLine[];
  options: RequirementsOptions;
  /** pip's hash-checking mode (`--require-hashes`, or a `--hash` on any line): the file is a complete lock. */
  hashMode: boolean;
  /** The project directory: `-r` / `-c` files must resolve inside it (symlinks followed). */
  root?: string;
}

export const HOW_TO_PIN =
  'In hash-checking mode (`--require-hashes`, or any line with --hash) pip needs every package pinned with == and its hashes, ' +
  'and so does shale. `shale lock` writes a complete pylock.toml; `uv pip compile --generate-hashes requirements.in -o requirements.txt` ' +
  'or `pip-compile --generate-hashes` write a complete requirements file.';

/** Options that take a value and are harmless to ignore for installing wheels. */
const IGNORED_WITH_VALUE = new Set([
  '--trusted-host',
  '--use-feature',
  '--only-binary',
  '--no-binary',
  '--config-settings',
  '--global-option',
  '--progress-bar',
]);
const IGNORED_FLAGS = new Set(['--prefer-binary', '--no-deps', '--upgrade', '-U', '--user', '--no-cache-dir', '--quiet', '-q']);

/** The pinned packages of a requirements file in hash-checking mode (see {@link lockedPackages}). */
export async function parseRequirements(file: string): Promise<LockedPackage[]> {
  return lockedPackages(await readRequirements(file));
}

/**
 * Reads a requirements file with its `-r` includes and `-c` constraints files: the requirement
 * lines, index options and whether pip would be in hash-checking mode. Unsupported lines are
 * InputErrors naming file:line and what to do.
 */
export async function readRequirements(file: string, root?: string): Promise<Requirements> {
  const out: Requirements = {
    file: resolve(file),
    lines: [],
    constraints: [],
    options: { extraIndexUrls: [], findLinks: [], noIndex: false, ignored: [] },
    hashMode: false,
  };
  if (root !== undefined) out.root = await realpath(root).catch(() => resolve(root));
  await readInto(out.file, out, [], false);
  if (out.lines.some((l) => l.hashes.length > 0)) out.hashMode = true;
  return out;
}

/**
 * The packages of a requirements file read as a lock (hash-checking mode): every line must pin
 * one version with `==`; the same package twice must agree (markers may split it per target).
 */
export function lockedPackages(r: Requirements): LockedPackage[] {
  return mergeDuplicates(r.lines.map((l) => toLocked(l)));
}

function toLocked(l: RequirementLine): LockedPackage {
  const where = `${l.source.file}:${l.source.line}`;
  const pin = /^===?([^,*]+)$/.exec(l.req.specifier);
  if (!pin?.[1]) {
    const got = l.req.specifier || 'no version';
    throw new InputError('SHALE_UNPINNED', `${where}: ${l.req.rawName} is not pinned (${got}), but this file is a lock (it has hashes). ${HOW_TO_PIN}`);
  }
  const out: LockedPackage = { name: l.req.name, version: pin[1], hashes: l.hashes, source: l.source };
  if (l.req.marker) out.marker = l.req.marker;
  if (l.req.extras.length) out.extras = l.req.extras;
  return out;
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

async function readInto(file: string, out: Requirements, stack: string[], constraint: boolean): Promise<void> {
  if (stack.includes(file)) {
    throw new InputError('SHALE_LOCK_CYCLE', `requirements file ${file} includes itself (via ${stack.join(' → ')}); remove the -r cycle`);
  }
  if (out.root !== undefined && stack.length > 0) {
    // An include that leaves the project could read a host file (`-r /etc/shadow`) and print
    // its lines in an error; only files of the project are read.
    const real = await realpath(file).catch(() => file);
    const rel = relative(out.root, real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new InputError(
        'SHALE_PATH_OUTSIDE',
        `${stack[stack.length - 1]}: the included file ${file}${real !== file ? ` (resolves to ${real})` : ''} is outside the project directory ${out.root}; copy it into the project and include it from there`,
      );
    }
  }
  let content: string;
  try {
    content = await readTextFile(file);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const via = stack.length ? ` (included from ${stack[stack.length - 1]})` : '';
    throw new InputError(
      'SHALE_LOCK_MISSING',
      `cannot read ${constraint ? 'constraints' : 'requirements'} file ${file}${via}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check the path`,
      { cause: err },
    );
  }
  for (const { text, line } of logicalLines(content)) {
    const where = `${file}:${line}`;
    if (text.startsWith('-')) {
      await readOption(text, where, file, out, [...stack, file], constraint);
    } else {
      const l = parseRequirementLine(text, file, line);
      if (constraint && l.req.extras.length)
        throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: a constraints file cannot ask for extras (${text}); write the name and version only`);
      (constraint ? out.constraints : out.lines).push(l);
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

async function readOption(text: string, where: string, file: string, out: Requirements, stack: string[], constraint: boolean): Promise<void> {
  const flag = text.split(/[\s=]/, 1)[0] ?? text;
  const options = out.options;
  let v: string | undefined;
  if ((v = optionValue(text, ['--requirement', '-r'])) !== undefined) {
    if (isUrl(v)) throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: -r with a URL (${v}) is not supported; download the file and include it by path`);
    await readInto(resolve(dirname(file), v), out, stack, constraint);
  } else if ((v = optionValue(text, ['--constraint', '-c'])) !== undefined) {
    if (isUrl(v)) throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: -c with a URL (${v}) is not supported; download the file and include it by path`);
    await readInto(resolve(dirname(file), v), out, stack, true);
  } else if (flag === '--pre') {
    options.pre = true;
  } else if (flag === '--require-hashes') {
    out.hashMode = true;
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
    throw new InputError(
      'SHALE_LOCK_UNSUPPORTED',
      `${where}: editable installs (${text}) cannot go into an image; put local packages in [[tool.shale.layers]] paths (e.g. paths = ["libs/mylib"]) and remove this line`,
    );
  } else {
    throw new InputError('SHALE_LOCK_UNSUPPORTED', `${where}: unknown option "${flag}" in requirements file; remove it or use a lock pip-compile / uv writes`);
  }
}

/**
 * Parses one requirement line ("name[extra]>=1.0 ; marker --hash=sha256:..."). pip splits
 * arguments from options at the first word that starts with "-".
 */
export function parseRequirementLine(text: string, file: string, line: number): RequirementLine {
  const where = `${file}:${line}`;
  const words = text.split(/\s+/);
  const firstOpt = words.findIndex((w) => w.startsWith('-'));
  const reqText = (firstOpt < 0 ? words : words.slice(0, firstOpt)).join(' ');
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
      throw new InputError(
        'SHALE_BAD_HASH',
        `${where}: hash "${h ?? ''}" is not sha256:<64 hex digits>; shale checks sha256 hashes only (pip-compile --generate-hashes and uv write them)`,
      );
    }
    hashes.push(`sha256:${(m[2] ?? '').toLowerCase()}`);
  }
  const spec = reqText.split(';')[0]?.trim() ?? '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) || spec.startsWith('.') || spec.startsWith('/') || /\s@\s|^[^\s[=<>~!]+@/.test(spec)) {
    throw new InputError(
      'SHALE_LOCK_UNSUPPORTED',
      `${where}: "${spec}" is a URL or path requirement; shale installs packages from an index or find-links. Put the wheel in a find-links directory and require it by name (name==version)`,
    );
  }
  let req: Requirement;
  try {
    req = parseRequirement(reqText);
  } catch (err) {
    const msg = err instanceof RequirementSyntaxError ? err.message : String(err);
    throw new InputError(
      'SHALE_LOCK_SYNTAX',
      `${where}: cannot read requirement "${text}": ${msg}; write it as pip does, like name==1.0, name>=1.2,<2 or name[extra]`,
      { cause: err },
    );
  }
  return { req, hashes, source: { file, line } };
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
