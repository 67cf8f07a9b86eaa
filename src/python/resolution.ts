/**
 * What a resolution decides for one target image: one version of each package, the file chosen
 * for that target, and who asked for it. `shale lock` writes these down (pylock-write.ts); a
 * build installs them.
 */
import type { LockedFile } from './requirements.js';
import type { TargetEnv } from './tags.js';

/** One package of a resolution, for one target. */
export interface ResolvedPackage {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  /** The wheel (or sdist, when no wheel fits) chosen for the target: name, url or path, sha256, size. */
  file: LockedFile;
  /** The simple index URL that listed the file, when it came from an index (PEP 751 `packages.index`). */
  index?: string;
  /** The extras asked of it (PEP 685 normalized, sorted). */
  extras: string[];
  /** Who requires it: package names, or the input file for the project's own requirements. Sorted. */
  requiredBy: string[];
}

/** The packages one target image gets, sorted by name. */
export interface Resolution {
  env: TargetEnv;
  packages: ResolvedPackage[];
}
