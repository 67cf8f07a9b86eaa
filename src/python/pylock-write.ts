/**
 * Writes the resolutions of several target images down as one PEP 751 lock (`pylock.toml`)
 * that pip, uv and shale's own reader (pylock.ts) install from. A package version every target
 * has is written once with no marker; one only some targets have carries a marker that selects
 * exactly those targets, so each target reads back exactly its own resolution. The TOML is
 * written by hand in one fixed layout (uv-style inline tables) so that the same resolutions
 * always give the same bytes and diffs stay small (PEP 751 "File Format": consistent key order,
 * sorted arrays, consistent inline tables).
 */
import { relative, resolve, sep } from 'node:path';
import { InputError, ShaleError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { evaluateMarker, markerEnv } from './markers.js';
import { normalizeName, normalizeVersion } from './names.js';
import { compareVersions } from './pep440.js';
import type { LockedFile } from './requirements.js';
import type { Resolution, ResolvedPackage } from './resolution.js';
import { describeEnv, type TargetEnv } from './tags.js';

/** Where the lock goes and what it records besides the packages. */
export interface PylockWriteOptions {
  /** Directory the lock file will live in: local `path`s are written relative to it (PEP 751 says paths are relative to the lock file). */
  lockDir: string;
  /** PEP 751 `requires-python`, e.g. "==3.11.*". */
  requiresPython?: string;
  /** The tool's name for `created-by`. */
  createdBy: string;
  /** Recorded under `[tool.shale]` so a build can tell the lock is stale: input file (relative to lockDir) → its sha256, plus anything else that decided the resolution (extras, groups, base, platforms). Sorted keys. */
  inputs?: Record<string, string>;
}

/** The marker variables that tell shale's targets apart (all Linux CPython; libc has no marker). */
const MARKER_VARS = ['python_version', 'sys_platform', 'platform_machine'] as const;

function markerValues(env: TargetEnv): string[] {
  const vars = markerEnv(env);
  return MARKER_VARS.map((v) => vars[v] ?? '');
}

function clause(variable: string, value: string): string {
  const q = value.includes("'") ? '"' : "'";
  return `${variable} == ${q}${value}${q}`;
}

/**
 * The marker that selects one target among the given ones (e.g. "platform_machine == 'x86_64'"),
 * or undefined when one target. Only the variables whose values differ among the targets are
 * named, so markers stay short; the lock's `environments` already pins the rest. Targets that
 * differ only in what no PEP 508 variable sees (glibc vs musl) get the same marker.
 */
export function targetMarker(env: TargetEnv, all: TargetEnv[]): string | undefined {
  const mine = markerValues(env);
  const rows = [mine, ...all.map(markerValues)];
  const clauses = MARKER_VARS.flatMap((v, i) => (new Set(rows.map((r) => r[i])).size > 1 ? [clause(v, mine[i] ?? '')] : []));
  return clauses.length > 0 ? clauses.join(' and ') : undefined;
}

/** A target's full marker, for PEP 751 `environments` (which an installer must match before anything else). */
function environmentMarker(env: TargetEnv): string {
  const values = markerValues(env);
  return MARKER_VARS.map((v, i) => clause(v, values[i] ?? '')).join(' and ');
}

/** A URL with any `user:password@` removed (the last `@` of the authority ends userinfo, as WHATWG URL parses it). */
function withoutCredentials(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  const authority = m?.[2];
  if (!m || authority === undefined) return url;
  const at = authority.lastIndexOf('@');
  return at < 0 ? url : `${m[1]}${authority.slice(at + 1)}${url.slice(m[0].length)}`;
}

// ---- TOML text -------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/**
 * A TOML basic string. TOML 1.0 forbids `"`, `\` and control characters (U+0000–U+001F, U+007F)
 * unescaped; everything else, non-ASCII included, is written as is (the file is UTF-8).
 */
function str(s: string): string {
  // A lone surrogate has no UTF-8 form and TOML's \u escapes take only scalar values.
  if (/\p{Cs}/u.test(s)) throw new ShaleError('SHALE_LOCK_WRITE', `cannot write ${JSON.stringify(s)} to a TOML lock: it is not valid Unicode`);
  return `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"`;
}

/** A TOML key: bare when TOML allows (A-Z a-z 0-9 _ -), else quoted. */
function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : str(k);
}

/** `{ k = v, ... }` from already rendered values, in the given order. */
function inline(pairs: [string, string][]): string {
  return `{ ${pairs.map(([k, v]) => `${key(k)} = ${v}`).join(', ')} }`;
}

/** An array with one item per line and a trailing comma (uv's layout: one line changes per item). */
function lines(items: string[]): string {
  return items.length === 0 ? '[]' : `[\n${items.map((i) => `    ${i},\n`).join('')}]`;
}

// ---- packages --------------------------------------------------------------------------------

/** One `[[packages]]` entry: a (name, version) and what the targets that have it chose. */
interface Entry {
  name: string;
  version: string;
  /** Indexes of the resolutions (targets) that have this version. */
  targets: Set<number>;
  /** Chosen files by file name. */
  files: Map<string, LockedFile>;
  indexes: Set<string>;
  /** Keys of the entries this one depends on. */
  deps: Set<string>;
}

const entryKey = (name: string, version: string): string => `${name}\u0000${normalizeVersion(version)}`;
const location = (f: LockedFile): string => f.url ?? f.path ?? '';
const isWheel = (f: LockedFile): boolean => /\.whl$/i.test(f.filename);

/** Adds a target's chosen file; one file name must be one file (same sha256) whichever target chose it. */
function addFile(e: Entry, f: LockedFile): void {
  const prev = e.files.get(f.filename);
  if (prev && prev.sha256 !== f.sha256) {
    throw new ShaleError(
      'SHALE_LOCK_CONFLICT',
      `${e.name}==${e.version}: two targets chose different files named ${f.filename} (sha256 ${prev.sha256 ?? 'unknown'} and ${f.sha256 ?? 'unknown'}); a lock can name only one`,
    );
  }
  if (!prev) {
    e.files.set(f.filename, { ...f });
    return;
  }
  // The same file from two places (index and find-links): keep one place, whatever the input order.
  const keep = location(f) < location(prev) ? { ...f } : prev;
  const size = keep.size ?? f.size ?? prev.size;
  if (size !== undefined) keep.size = size;
  e.files.set(f.filename, keep);
}

function entriesOf(resolutions: Resolution[]): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  resolutions.forEach((r, i) => {
    for (const p of r.packages) {
      const k = entryKey(p.name, p.version);
      let e = entries.get(k);
      if (!e) entries.set(k, (e = { name: p.name, version: p.version, targets: new Set(), files: new Map(), indexes: new Set(), deps: new Set() }));
      // "1.0" and "1.0.0" are one version; write one spelling whatever the input order.
      if (p.version < e.version) e.version = p.version;
      e.targets.add(i);
      addFile(e, p.file);
      if (p.index !== undefined) e.indexes.add(withoutCredentials(p.index));
    }
  });
  // requiredBy turned around: PEP 751 records the graph as each package's `dependencies`.
  for (const r of resolutions) {
    const byName = new Map<string, ResolvedPackage>(r.packages.map((p) => [normalizeName(p.name), p]));
    for (const p of r.packages) {
      const pk = entryKey(p.name, p.version);
      for (const by of p.requiredBy) {
        const q = byName.get(normalizeName(by));
        // Anything else (the input file that asked for a top-level requirement) is no package entry.
        if (q && q !== p) entries.get(entryKey(q.name, q.version))?.deps.add(pk);
      }
    }
  }
  return entries;
}

function indistinct(e: Entry, envs: TargetEnv[], has: number, lacks: number): InputError {
  const [a, b] = [envs[has], envs[lacks]].map((x) => (x ? describeEnv(x) : '?'));
  return new InputError(
    'SHALE_LOCK_TARGETS',
    `${e.name}==${e.version} is locked for ${a} but not for ${b}, and PEP 751 markers cannot tell these targets apart (same Python version and machine); lock them into separate files (pylock.<name>.toml)`,
  );
}

/**
 * PEP 751 `packages.marker` for an entry: none when every target has it, else the `or` of its
 * targets' markers, checked to select no other target (the installer must narrow every package
 * down to one entry: PEP 751 "Installation").
 */
function entryMarker(e: Entry, envs: TargetEnv[]): string | undefined {
  if (e.targets.size === envs.length) return undefined;
  const terms = new Set<string>();
  for (const i of e.targets) {
    const env = envs[i];
    const m = env && targetMarker(env, envs);
    if (!m)
      throw indistinct(
        e,
        envs,
        i,
        envs.findIndex((_, j) => !e.targets.has(j)),
      );
    terms.add(m);
  }
  const sorted = [...terms].sort();
  const marker = sorted.length === 1 ? (sorted[0] ?? '') : sorted.map((t) => (t.includes(' and ') ? `(${t})` : t)).join(' or ');
  envs.forEach((env, j) => {
    if (e.targets.has(j) || !evaluateMarker(marker, markerEnv(env))) return;
    const twin = [...e.targets].find((i) => markerValues(envs[i] ?? env).join('\u0000') === markerValues(env).join('\u0000'));
    throw indistinct(e, envs, twin ?? 0, j);
  });
  return marker;
}

/** `{ name, url | path, size, hashes }` of one file (PEP 751 `packages.wheels` / `packages.sdist`). */
function fileTable(e: Entry, f: LockedFile, lockDir: string): string {
  const pairs: [string, string][] = [['name', str(f.filename)]];
  if (f.url !== undefined) pairs.push(['url', str(withoutCredentials(f.url))]);
  else if (f.path !== undefined) {
    // PEP 751 `path`: relative to the lock file, POSIX separators for portability.
    pairs.push(['path', str(relative(resolve(lockDir), resolve(f.path)).split(sep).join('/'))]);
  } else throw new ShaleError('SHALE_LOCK_WRITE', `${e.name}==${e.version}: ${f.filename} has neither a URL nor a path to write into the lock`);
  if (f.size !== undefined) pairs.push(['size', String(f.size)]);
  // PEP 751 `hashes` is required and must hold at least one entry.
  if (f.sha256 === undefined)
    throw new ShaleError('SHALE_LOCK_WRITE', `${e.name}==${e.version}: ${f.filename} has no sha256, which PEP 751 requires of every file`);
  pairs.push(['hashes', inline([['sha256', str(f.sha256.toLowerCase())]])]);
  return inline(pairs);
}

function packageText(e: Entry, all: Map<string, Entry>, perName: Map<string, number>, envs: TargetEnv[], lockDir: string): string {
  const out = ['[[packages]]', `name = ${str(e.name)}`, `version = ${str(e.version)}`];
  const marker = entryMarker(e, envs);
  if (marker !== undefined) out.push(`marker = ${str(marker)}`);
  const deps = [...e.deps].flatMap((k) => all.get(k) ?? []).sort(byNameVersion);
  if (deps.length > 0) {
    // PEP 751 `packages.dependencies`: just enough keys to find the entry (the version only when the name has several).
    out.push(
      `dependencies = ${lines(
        deps.map((d) =>
          inline(
            (perName.get(d.name) ?? 0) > 1
              ? [
                  ['name', str(d.name)],
                  ['version', str(d.version)],
                ]
              : [['name', str(d.name)]],
          ),
        ),
      )}`,
    );
  }
  // Several indexes for one version (informational: PEP 751 uses it for SBOMs and as a fallback): the first, sorted.
  const index = [...e.indexes].sort()[0];
  if (index !== undefined) out.push(`index = ${str(index)}`);
  const files = [...e.files.values()].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  const sdists = files.filter((f) => !isWheel(f));
  const wheels = files.filter(isWheel);
  if (sdists.length > 1) {
    throw new ShaleError(
      'SHALE_LOCK_CONFLICT',
      `${e.name}==${e.version}: targets chose different sdists (${sdists.map((s) => s.filename).join(', ')}); PEP 751 names one per package version`,
    );
  }
  const [sdist] = sdists;
  if (sdist) out.push(`sdist = ${fileTable(e, sdist, lockDir)}`);
  if (wheels.length > 0) out.push(`wheels = ${lines(wheels.map((w) => fileTable(e, w, lockDir)))}`);
  return out.join('\n');
}

function byNameVersion(a: { name: string; version: string }, b: { name: string; version: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const c = compareVersions(a.version, b.version);
  return c !== 0 ? c : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

/** PEP 751 text for resolutions of several targets at once. Same inputs → same bytes. */
export function formatPylock(resolutions: Resolution[], opts: PylockWriteOptions): string {
  const envs = resolutions.map((r) => r.env);
  const entries = entriesOf(resolutions);
  const sorted = [...entries.values()].sort(byNameVersion);
  const perName = new Map<string, number>();
  for (const e of sorted) perName.set(e.name, (perName.get(e.name) ?? 0) + 1);

  // PEP 751 key order for the top-level table.
  const head = [`lock-version = ${str('1.0')}`];
  head.push(`environments = ${lines([...new Set(envs.map(environmentMarker))].sort().map(str))}`);
  if (opts.requiresPython !== undefined) head.push(`requires-python = ${str(opts.requiresPython)}`);
  // Empty, not absent: extras and groups were chosen when locking (they are among the inputs), so the
  // lock offers none to choose at install time (PEP 751 `extras`, `dependency-groups`, `default-groups`).
  head.push('extras = []', 'dependency-groups = []', 'default-groups = []');
  head.push(`created-by = ${str(opts.createdBy)}`);
  const blocks = [head.join('\n')];
  if (sorted.length === 0) blocks[0] += '\npackages = []'; // `packages` is required, even when empty
  for (const e of sorted) blocks.push(packageText(e, entries, perName, envs, opts.lockDir));
  const inputs = Object.keys(opts.inputs ?? {}).sort();
  if (opts.inputs && inputs.length > 0) {
    // A sub-table, one input per line, rather than one long inline table: a changed input is a one-line diff.
    blocks.push(['[tool.shale.inputs]', ...inputs.map((k) => `${key(k)} = ${str(opts.inputs?.[k] ?? '')}`)].join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

/** Writes lock text to `file` atomically, so a reader (or a crash) never sees half a lock. */
export async function writePylock(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, text);
}
