/**
 * Completeness of a lock for one target: every installed distribution's `Requires-Dist` (with
 * the extras asked of it, markers evaluated for the target) is met by the set with a version in
 * range, every `Requires-Python` fits the image, and the project's own declared requirements are
 * met. A lock that fails is an error naming the package, who requires it, and how to fix it:
 * an image whose imports fail must never come out of a green build.
 */
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import type { CoreMetadata } from './core-metadata.js';
import { evaluateMarker, markerEnv } from './markers.js';
import { pythonFits, satisfies } from './pep440.js';
import { formatRequirement, parseRequirement, type Requirement } from './requirement.js';
import type { LockedPackage } from './requirements.js';
import type { RootRequirement } from './resolver.js';
import { describeEnv, type TargetEnv } from './tags.js';

/** One package of the lock, with what its wheel declares. */
export interface CheckedPackage {
  pkg: LockedPackage;
  metadata: CoreMetadata;
}

const MAX_PROBLEMS = 8;

/** Throws SHALE_LOCK_INCOMPLETE when the lock's packages for `env` do not make a working environment. */
export function checkLockComplete(lockFile: string, regenerate: string, env: TargetEnv, pkgs: CheckedPackage[], roots: RootRequirement[]): void {
  const problems = environmentProblems(basename(lockFile), env, pkgs, roots);
  if (!problems.length) return;
  const shown = problems.slice(0, MAX_PROBLEMS).join('; ');
  const more = problems.length > MAX_PROBLEMS ? `; and ${problems.length - MAX_PROBLEMS} more` : '';
  throw new InputError(
    'SHALE_LOCK_INCOMPLETE',
    `${lockFile} does not make a working environment for ${describeEnv(env)}: ${shown}${more}. An image from it would fail at import. ` +
      `Regenerate the lock (\`shale lock\` writes a complete pylock.toml; or ${regenerate}), or remove it to let shale resolve the requirements.`,
  );
}

/**
 * What keeps a set of distributions from working together on `env`: a requirement (of `roots`,
 * or a `Requires-Dist` of a member, with the extras asked of it) that no member meets, and a
 * `Requires-Python` the image's Python does not fit. `lockName` names the set in the sentences
 * ("pylock.toml", "the image"). Also what `shale validate` asks of an image's installed METADATA.
 */
export function environmentProblems(lockName: string, env: TargetEnv, pkgs: readonly CheckedPackage[], roots: readonly RootRequirement[]): string[] {
  const vars = markerEnv(env);
  const byName = new Map(pkgs.map((p) => [p.pkg.name, p]));
  const extras = new Map<string, Set<string>>(pkgs.map((p) => [p.pkg.name, new Set(p.pkg.extras ?? [])]));
  const problems: string[] = [];

  const text = (r: Requirement): string => formatRequirement({ name: r.name, extras: r.extras, specifier: r.specifier });
  const need = (r: Requirement, by: string): void => {
    const have = byName.get(r.name);
    if (!have) {
      problems.push(`${by} requires ${text(r)}, which ${lockName} does not have for this target`);
      return;
    }
    if (!satisfies(have.pkg.version, r.specifier, true)) {
      problems.push(`${by} requires ${text(r)}, but ${lockName} has ${have.pkg.name} ${have.pkg.version}`);
    }
    const set = extras.get(r.name);
    for (const x of r.extras) set?.add(x);
  };

  for (const root of roots) {
    if (root.req.marker === undefined || evaluateMarker(root.req.marker, vars, root.source)) need(root.req, root.source);
  }
  for (const p of pkgs) {
    if (!pythonFits(env.python, p.metadata.requiresPython)) {
      problems.push(`${p.pkg.name} ${p.pkg.version} requires Python ${p.metadata.requiresPython}, and the image has Python ${env.python}`);
    }
  }
  // Extras found while checking add requirements: go round until nothing new is asked.
  const done = new Map<string, Set<string>>();
  for (let changed = true; changed;) {
    changed = false;
    for (const p of pkgs) {
      const want = ['', ...(extras.get(p.pkg.name) ?? [])];
      const seen = done.get(p.pkg.name) ?? new Set<string>();
      done.set(p.pkg.name, seen);
      for (const extra of want) {
        if (seen.has(extra)) continue;
        seen.add(extra);
        changed = true;
        const by = `${p.pkg.name} ${p.pkg.version}${extra ? ` (extra "${extra}")` : ''}`;
        for (const line of p.metadata.requiresDist) {
          let r: Requirement;
          try {
            r = parseRequirement(line);
          } catch {
            continue; // an unreadable Requires-Dist is not the lock's fault; installers skip them too
          }
          const where = `Requires-Dist of ${p.pkg.name} ${p.pkg.version}`;
          const on =
            r.marker === undefined
              ? extra === ''
              : evaluateMarker(r.marker, { ...vars, extra }, where) && (extra === '' || !evaluateMarker(r.marker, { ...vars, extra: '' }, where));
          if (on && r.name !== p.pkg.name) need(r, by);
          else if (on) for (const x of r.extras) extras.get(p.pkg.name)?.add(x);
        }
      }
    }
  }
  return problems;
}
