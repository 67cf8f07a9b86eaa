/**
 * Any lock shale reads, by file name (SPEC.md, `lock`): `uv.lock`, `pylock.toml` /
 * `pylock.<name>.toml` (PEP 751), else a pinned requirements file. Each gives the same
 * {@link LockedPackage}s; `select` gives those one target image needs.
 */
import { basename } from 'node:path';
import { readPylock } from './pylock.js';
import { readRequirements, selectForEnv, type LockedPackage, type RequirementsOptions } from './requirements.js';
import type { TargetEnv } from './tags.js';
import { readUvLock } from './uv-lock.js';

/** A read lock file. */
export interface Lock {
  file: string;
  format: 'requirements' | 'pylock' | 'uv';
  /** Every package the lock pins, for any target. */
  packages: LockedPackage[];
  /** Index options (requirements files only; TOML locks name their files). */
  options: RequirementsOptions;
  /** The packages that apply to `env`: markers evaluated, one version per name. */
  select(env: TargetEnv): LockedPackage[];
}

/** The lock format of a file, by its name. */
export function lockFormat(file: string): Lock['format'] {
  const name = basename(file);
  if (name === 'uv.lock') return 'uv';
  if (/^pylock(\.[^.]+)?\.toml$/.test(name)) return 'pylock';
  return 'requirements';
}

const noOptions = (): RequirementsOptions => ({ extraIndexUrls: [], findLinks: [], noIndex: false, ignored: [] });

/** Reads a lock of any supported format; errors name the file, the package and how to regenerate. */
export async function readLock(file: string): Promise<Lock> {
  const format = lockFormat(file);
  if (format === 'uv') {
    const uv = await readUvLock(file);
    return { file, format, packages: uv.packages, options: noOptions(), select: (env) => selectForEnv(uv.select(env), env) };
  }
  if (format === 'pylock') {
    const py = await readPylock(file);
    return { file, format, packages: py.packages, options: noOptions(), select: (env) => selectForEnv(py.packages, env, py.markerVars) };
  }
  const req = await readRequirements(file);
  return { file, format, packages: req.packages, options: req.options, select: (env) => selectForEnv(req.packages, env) };
}
