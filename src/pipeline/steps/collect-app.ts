import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { BuildSpec } from '../../config/spec.js';
import type { Entry } from '../../layer/entry.js';
import { collectFiles } from '../../plan/app-files.js';
import { prehashFiles } from '../../plan/fingerprint.js';
import { isInside } from '../../plan/host-paths.js';
import type { BuildRun } from '../build-run.js';

/**
 * Step 1, beside the base: the app's files, listed (excludes applied). While the registry
 * answers, their content hashes and the project's dependencies are read too; both are
 * remembered, and a failure there is reported by the step that needs the result.
 */
export function collectApp(run: BuildRun): Promise<Entry[]> {
  const { spec } = run;
  const wheels = findLinksInProject(spec);
  const shipped = (w: string): boolean => spec.app.some((a) => a.kind === 'dir' && isInside(a.from, resolve(spec.projectDir, w)));
  for (const w of wheels.filter(shipped))
    run.events({
      type: 'log',
      level: 'debug',
      message: `left out ${w}/ from the app: it is a find-links directory (its wheels are installed as packages)`,
    });
  const collecting = collectFiles(spec.projectDir, spec.app, [...spec.exclude, ...wheels.map((w) => `/${w}`)], run.events);
  void Promise.all([run.resolver.dependencies(), collecting.then((app) => prehashFiles(app, run.cache.hashes))]).catch(() => undefined);
  return collecting;
}

/** The `find-links` directories inside the project, as project paths: left out of the app layer. */
export function findLinksInProject(spec: Pick<BuildSpec, 'projectDir' | 'findLinks'>): string[] {
  const out: string[] = [];
  for (const entry of spec.findLinks) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(entry) && !/^file:/i.test(entry)) continue;
    const path = entry.replace(/^file:(\/\/)?/i, '');
    const abs = isAbsolute(path) ? path : resolve(spec.projectDir, path);
    const rel = relative(spec.projectDir, abs).split(sep).join('/');
    if (rel && isInside(spec.projectDir, abs)) out.push(rel);
  }
  return out;
}
