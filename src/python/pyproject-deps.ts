/**
 * A project's own dependency declarations in pyproject.toml: `[project].dependencies`, the
 * `[project.optional-dependencies]` extras asked for, and PEP 735 `[dependency-groups]` asked
 * for (with `{include-group = "..."}`), as requirements to resolve or to check a lock against.
 */
import { InputError } from '../errors.js';
import { parseRequirement, RequirementSyntaxError, normalizeExtra } from './requirement.js';
import type { RootRequirement } from './resolver.js';
import { normalizeName } from './names.js';

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a pyproject.toml declares, for the extras and groups asked. */
export interface ProjectDependencies {
  /** Whether `[project].dependencies` (or an asked extra or group) exists at all. */
  declared: boolean;
  roots: RootRequirement[];
}

function strings(v: unknown, where: string, file: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new InputError('SHALE_CONFIG_INVALID', `${file}: \`${where}\` must be an array of strings (PEP 508 requirements)`);
  return v;
}

function toRoots(list: string[], where: string, file: string): RootRequirement[] {
  return list.map((text, i) => {
    try {
      return { req: parseRequirement(text), source: `${file} ${where}[${i}]` };
    } catch (err) {
      const msg = err instanceof RequirementSyntaxError ? err.message : String(err);
      throw new InputError('SHALE_CONFIG_INVALID', `${file}: \`${where}[${i}]\` = "${text}" is not a PEP 508 requirement: ${msg}`, { cause: err });
    }
  });
}

/** PEP 735: a group's requirements, `{include-group = "name"}` expanded, cycles refused. */
function groupRequirements(groups: Table, name: string, file: string, stack: string[]): RootRequirement[] {
  const key = Object.keys(groups).find((k) => normalizeName(k) === normalizeName(name));
  if (key === undefined) {
    const known = Object.keys(groups).sort().join(', ') || 'none';
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `dependency group "${name}" is not in ${file} [dependency-groups] (groups: ${known}); fix \`groups\` in [tool.shale]`,
    );
  }
  if (stack.includes(key)) throw new InputError('SHALE_CONFIG_INVALID', `${file}: [dependency-groups] ${[...stack, key].join(' → ')} includes itself`);
  const items = groups[key];
  if (!Array.isArray(items)) throw new InputError('SHALE_CONFIG_INVALID', `${file}: [dependency-groups].${key} must be an array`);
  const out: RootRequirement[] = [];
  items.forEach((item, i) => {
    if (typeof item === 'string')
      out.push(...toRoots([item], `dependency-groups.${key}`, file).map((r) => ({ ...r, source: `${file} dependency-groups.${key}[${i}]` })));
    else if (isTable(item) && typeof item['include-group'] === 'string') out.push(...groupRequirements(groups, item['include-group'], file, [...stack, key]));
    else throw new InputError('SHALE_CONFIG_INVALID', `${file}: [dependency-groups].${key}[${i}] must be a requirement string or {include-group = "..."}`);
  });
  return out;
}

/**
 * The requirements pyproject.toml declares for the image: `[project].dependencies`, plus each
 * extra in `extras` and each PEP 735 group in `groups`. Unknown extras or groups are errors that
 * list the ones that exist.
 */
export function projectDependencies(doc: Table, file: string, extras: readonly string[], groups: readonly string[]): ProjectDependencies {
  const project = isTable(doc['project']) ? doc['project'] : undefined;
  const roots = toRoots(strings(project?.['dependencies'], 'project.dependencies', file), 'project.dependencies', file);
  let declared = project !== undefined && project['dependencies'] !== undefined;
  const optional = isTable(project?.['optional-dependencies']) ? (project['optional-dependencies'] as Table) : {};
  for (const extra of extras) {
    const key = Object.keys(optional).find((k) => normalizeExtra(k) === normalizeExtra(extra));
    if (key === undefined) {
      const known = Object.keys(optional).sort().join(', ') || 'none';
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `extra "${extra}" is not in ${file} [project.optional-dependencies] (extras: ${known}); fix \`extras\` in [tool.shale]`,
      );
    }
    roots.push(...toRoots(strings(optional[key], `project.optional-dependencies.${key}`, file), `project.optional-dependencies.${key}`, file));
    declared = true;
  }
  const depGroups = isTable(doc['dependency-groups']) ? doc['dependency-groups'] : {};
  for (const g of groups) {
    roots.push(...groupRequirements(depGroups, g, file, []));
    declared = true;
  }
  return { declared, roots };
}
