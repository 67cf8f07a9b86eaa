/**
 * Any lock shale reads, by file name: `uv.lock`, `poetry.lock`, `pylock.toml` /
 * `pylock.<name>.toml` (PEP 751), else a requirements file in pip's hash-checking mode. Each
 * gives the same {@link LockedPackage}s; `select` gives those one target image needs.
 */
import { basename } from 'node:path';
import { POETRY_REGENERATE, readPoetryLock } from './poetry-lock.js';
import { PYLOCK_REGENERATE, readPylock } from './pylock.js';
import { HOW_TO_PIN, lockedPackages, selectForEnv, type LockedPackage, type Requirements, type RequirementsOptions } from './requirements.js';
import type { TargetEnv } from './tags.js';
import { readUvLock, UV_REGENERATE } from './uv-lock.js';

/** A read lock file. */
export interface Lock {
  file: string;
  format: 'requirements' | 'pylock' | 'uv' | 'poetry';
  /** Every package the lock pins, for any target. */
  packages: LockedPackage[];
  /** Index options (requirements files only; TOML locks name their files). */
  options: RequirementsOptions;
  /** How to make a complete, current lock of this format, for messages. */
  regenerate: string;
  /** What `shale lock` recorded it was made from (pylock.toml): input file → digest of its requirements. */
  inputs?: Record<string, string>;
  /** The packages that apply to `env`: markers evaluated, one version per name. */
  select(env: TargetEnv): LockedPackage[];
}

/** What decides which of a lock's packages an image gets, beyond the target. */
export interface LockReadOptions {
  extras: readonly string[];
  groups: readonly string[];
  /** The project's pyproject.toml, where poetry.lock's roots are. */
  pyproject?: string;
}

/** The lock format of a file, by its name. */
export function lockFormat(file: string): Lock['format'] {
  const name = basename(file);
  if (name === 'uv.lock') return 'uv';
  if (name === 'poetry.lock') return 'poetry';
  if (/^pylock(\.[^.]+)?\.toml$/.test(name)) return 'pylock';
  return 'requirements';
}

const noOptions = (): RequirementsOptions => ({ extraIndexUrls: [], findLinks: [], noIndex: false, ignored: [] });

/** Reads a TOML lock (uv.lock, poetry.lock, pylock.toml); errors name the file, the package and how to regenerate. */
export async function readLock(file: string, opts: LockReadOptions = { extras: [], groups: [] }): Promise<Lock> {
  const format = lockFormat(file);
  if (format === 'uv') {
    const uv = await readUvLock(file);
    const sel = { extras: [...opts.extras], groups: [...opts.groups] };
    return { file, format, packages: uv.packages, options: noOptions(), regenerate: UV_REGENERATE, select: (env) => selectForEnv(uv.select(env, sel), env) };
  }
  if (format === 'poetry') {
    const poetry = await readPoetryLock(file, opts.pyproject);
    const sel = { extras: [...opts.extras], groups: [...opts.groups] };
    return {
      file,
      format,
      packages: poetry.packages,
      options: noOptions(),
      regenerate: POETRY_REGENERATE,
      select: (env) => selectForEnv(poetry.select(env, sel), env),
    };
  }
  if (format === 'pylock') {
    const py = await readPylock(file);
    return {
      file,
      format,
      packages: py.packages,
      options: noOptions(),
      regenerate: PYLOCK_REGENERATE,
      inputs: py.inputs,
      select: (env) => selectForEnv(py.packages, env, py.markerVars),
    };
  }
  throw new Error(`readLock: ${file} is a requirements file; use requirementsLock`);
}

/** A requirements file in hash-checking mode, as a lock: every line pins one version. */
export function requirementsLock(req: Requirements): Lock {
  const packages = lockedPackages(req);
  return { file: req.file, format: 'requirements', packages, options: req.options, regenerate: HOW_TO_PIN, select: (env) => selectForEnv(packages, env) };
}
