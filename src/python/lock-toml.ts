/**
 * Reading TOML lock files (pylock.toml, uv.lock, poetry.lock) as untrusted input: parse errors
 * and fields of the wrong type become InputErrors naming the file, the package and how to
 * regenerate the lock.
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { InputError, ShaleError } from '../errors.js';
import { readTextFile } from './text-file.js';

/** A TOML table. */
export type Table = Record<string, unknown>;

export const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * Reads and parses a TOML lock file; `regenerate` says how to make a good one. The text is
 * decoded by readTextFile (UTF-8 with or without BOM, UTF-16), as Windows tools may write either.
 */
export async function readTomlLock(file: string, regenerate: string): Promise<{ doc: Table; text: string }> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    if (err instanceof ShaleError) throw err; // an encoding error already says what to do
    throw new InputError(
      'SHALE_LOCK_MISSING',
      `cannot read lock file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check \`lock\` in [tool.shale]`,
      { cause: err },
    );
  }
  try {
    return { doc: parseToml(text) as Table, text };
  } catch (err) {
    const at = err instanceof TomlError ? `:${err.line}:${err.column}` : '';
    const msg = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new InputError('SHALE_LOCK_SYNTAX', `${file}${at}: invalid TOML (${msg}); ${regenerate}`, { cause: err });
  }
}

/**
 * The 1-based line of the n-th `[[header]]` array-of-tables entry, so messages can point at a
 * package ("uv.lock:42"). Inline arrays (rare in locks) fall back to line 1.
 */
export function headerLines(text: string, header: string): number[] {
  const out: number[] = [];
  const re = new RegExp(`^\\s*\\[\\[\\s*${header.replace('.', '\\.')}\\s*\\]\\]\\s*(#.*)?$`);
  text.split(/\r?\n/).forEach((l, i) => {
    if (re.test(l)) out.push(i + 1);
  });
  return out;
}

/** Typed getters that fail with a message naming where the bad value is. */
export class Fields {
  constructor(
    private readonly where: string,
    private readonly regenerate: string,
  ) {}

  bad(what: string): InputError {
    return new InputError('SHALE_LOCK_SYNTAX', `${this.where}: ${what}; ${this.regenerate}`);
  }

  str(t: Table, key: string): string | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.bad(`\`${key}\` must be a string`);
    return v;
  }

  num(t: Table, key: string): number | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.bad(`\`${key}\` must be a non-negative integer`);
    return v;
  }

  table(t: Table, key: string): Table | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (!isTable(v)) throw this.bad(`\`${key}\` must be a table`);
    return v;
  }

  tables(t: Table, key: string): Table[] {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) throw this.bad(`\`${key}\` must be an array of tables`);
    return v;
  }

  strings(t: Table, key: string): string[] {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw this.bad(`\`${key}\` must be an array of strings`);
    return v;
  }
}

/** The hex of a "sha256:<hex>" hash, or undefined for other algorithms; malformed is an error. */
export function sha256Of(hash: string, f: Fields): string | undefined {
  const m = /^([a-z0-9]+):([0-9a-fA-F]+)$/.exec(hash);
  if (!m) throw f.bad(`hash "${hash}" is not algorithm:hex`);
  if (m[1] !== 'sha256') return undefined;
  if (m[2]?.length !== 64) throw f.bad(`sha256 hash "${hash}" is not 64 hex digits`);
  return m[2].toLowerCase();
}

/** The last path segment of a URL or path: a distribution's file name. */
export function fileNameOf(urlOrPath: string): string {
  const noQuery = urlOrPath.replace(/[?#].*$/, '');
  const last = noQuery.split('/').pop() ?? noQuery;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
