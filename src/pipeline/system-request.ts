/**
 * What `system-packages` ask for, for builds and `shale lock` alike: every system layer's packages
 * and the sources they come from, and the system they are resolved on. On `base = "scratch"`
 * that system is an empty one of `distribution` and the sources are its archive's unless
 * `apt-sources` names others (src/debian/scratch.ts).
 */
import { isScratch } from '../config/scratch.js';
import { systemGroups, type BuildSpec } from '../config/spec.js';
import type { BaseSystem } from '../debian/base-system.js';
import type { DebianInstaller, SystemRequest } from '../debian/install.js';
import { scratchSources, scratchSystem } from '../debian/scratch.js';
import type { BaseImage } from './assemble.js';

export function systemRequest(spec: BuildSpec): SystemRequest {
  const aptSources = isScratch(spec) && spec.distribution !== undefined ? scratchSources(spec.distribution, spec.configFile, spec.aptSources) : spec.aptSources;
  return { groups: systemGroups(spec), configFile: spec.configFile, projectDir: spec.projectDir, ...(aptSources ? { aptSources } : {}) };
}

/** The system the packages are resolved on: the base's, or an empty one of `distribution` for scratch. */
export function systemOf(spec: BuildSpec, inst: DebianInstaller, base: Pick<BaseImage, 'name' | 'digest' | 'layers'>): Promise<BaseSystem> {
  return isScratch(spec) && spec.distribution !== undefined ? Promise.resolve(scratchSystem(spec.distribution)) : inst.baseSystem(base);
}
