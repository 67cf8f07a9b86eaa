/**
 * Which Python packages a project asks for, from what it has, in the order a project has them:
 * a lock (pylock.toml, uv.lock, poetry.lock, or a requirements file in pip's hash-checking mode)
 * is installed exactly and checked; requirements to resolve (a requirements file as pip reads
 * it, or pyproject's `[project].dependencies`) are resolved per target, as pip would.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { readLock, requirementsLock, type Lock } from './lock.js';
import { projectDependencies } from './pyproject-deps.js';
import { readRequirements, type RequirementLine, type RequirementsOptions } from './requirements.js';
import type { RootRequirement } from './resolver.js';

/** A lock to install as it is, or requirements to resolve. */
export type Dependencies =
  | {
      kind: 'lock';
      lock: Lock;
      /** pyproject's declared requirements: the lock must meet them. */
      roots: RootRequirement[];
    }
  | {
      kind: 'resolve';
      /** The file the requirements come from (requirements.txt or pyproject.toml). */
      file: string;
      roots: RootRequirement[];
      constraints: RootRequirement[];
      options: RequirementsOptions;
    };

/** What decides a project's dependencies. */
export interface DependencySpec {
  projectDir: string;
  /** The lock or requirements file (`lock` in the config, or the first one found). */
  lock?: string;
  extras: readonly string[];
  groups: readonly string[];
}

/** The lock file names looked for, in order, when `lock` is not set. */
export const DEFAULT_LOCK_FILES = ['pylock.toml', 'uv.lock', 'poetry.lock', 'requirements.txt'] as const;

const rootsOf = (lines: RequirementLine[]): RootRequirement[] => lines.map((l) => ({ req: l.req, source: `${basename(l.source.file)}:${l.source.line}` }));

async function readPyproject(projectDir: string): Promise<{ file: string; doc: Record<string, unknown> } | undefined> {
  const file = join(projectDir, 'pyproject.toml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  // The config loader has parsed this file already; an error here cannot happen for a valid config.
  return { file, doc: parseToml(text) as Record<string, unknown> };
}

/**
 * The project's dependencies; undefined when it has none (no lock, no requirements file, no
 * `[project].dependencies`).
 */
export async function readDependencies(spec: DependencySpec): Promise<Dependencies | undefined> {
  const pyproject = await readPyproject(spec.projectDir);
  const declared = pyproject ? projectDependencies(pyproject.doc, pyproject.file, spec.extras, spec.groups) : undefined;
  if (spec.lock !== undefined) {
    if (/\.(lock|toml)$/.test(spec.lock)) {
      const lock = await readLock(spec.lock, { extras: spec.extras, groups: spec.groups, ...(pyproject ? { pyproject: pyproject.file } : {}) });
      return { kind: 'lock', lock, roots: lock.format === 'poetry' ? [] : (declared?.roots ?? []) };
    }
    const req = await readRequirements(spec.lock, spec.projectDir);
    if (req.hashMode) return { kind: 'lock', lock: requirementsLock(req), roots: [] };
    return { kind: 'resolve', file: req.file, roots: rootsOf(req.lines), constraints: rootsOf(req.constraints), options: req.options };
  }
  if (!declared?.declared || !pyproject) return undefined;
  return {
    kind: 'resolve',
    file: pyproject.file,
    roots: declared.roots,
    constraints: [],
    options: { extraIndexUrls: [], findLinks: [], noIndex: false, ignored: [] },
  };
}
