import type { Entry } from '../../layer/entry.js';
import { collectFiles } from '../../plan/app-files.js';
import { prehashFiles } from '../../plan/fingerprint.js';
import type { BuildRun } from '../build-run.js';

/**
 * Step 1, beside the base: the app's files, listed (excludes applied). While the registry
 * answers, their content hashes and the project's dependencies are read too; both are
 * remembered, and a failure there is reported by the step that needs the result.
 */
export function collectApp(run: BuildRun): Promise<Entry[]> {
  const { spec } = run;
  const collecting = collectFiles(spec.projectDir, spec.app, spec.exclude, run.events);
  void Promise.all([run.resolver.dependencies(), collecting.then((app) => prehashFiles(app, run.cache.hashes))]).catch(() => undefined);
  return collecting;
}
