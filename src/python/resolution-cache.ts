/**
 * Resolutions kept between builds: `<cache>/resolutions/<key>.json`, keyed by everything that
 * decides a resolution (requirements, constraints, --pre, the target, the sources, preferred
 * pins), and valid while what it was read from is: until the first index page it used goes
 * stale by its Cache-Control, and while no find-links directory changed. A warm rebuild of an
 * unlocked project then reads one small file instead of every page and metadata record, as
 * pip's and uv's caches let them skip the network within an index's max-age. Written
 * atomically; an unreadable record is a miss.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { formatRequirement } from './requirement.js';
import type { ResolvedNode, RootRequirement } from './resolver.js';
import type { Candidate, Freshness, PackageSources } from './sources.js';
import type { TargetEnv } from './tags.js';

/** One package of a kept resolution, with the file the target uses. */
export interface KeptPackage extends ResolvedNode {
  file: Candidate;
  /** The file is an sdist the wheel is built from. */
  sdist: boolean;
}

/** A kept resolution. */
export interface KeptResolution {
  key: string;
  /** ms since 1970 after which the index pages it came from must be asked again. */
  validUntil: number;
  /** find-links directories → their mtime when it was made. */
  dirs: [string, number][];
  packages: KeptPackage[];
  warnings: string[];
}

/** Everything that decides a resolution, as one digest. */
export function resolutionKey(
  req: { roots: RootRequirement[]; constraints: RootRequirement[]; pre: boolean; preferences?: ReadonlyMap<string, string> | undefined },
  env: TargetEnv,
  sources: PackageSources,
): string {
  const text = JSON.stringify({
    v: 1,
    roots: req.roots.map((r) => [formatRequirement(r.req), r.source]),
    constraints: req.constraints.map((r) => formatRequirement(r.req)),
    pre: req.pre,
    prefer: [...(req.preferences ?? new Map<string, string>())].sort(),
    env,
    sources: [sources.findLinks, sources.indexUrl ?? '', sources.extraIndexUrls ?? [], sources.noIndex, sources.projectDir],
  });
  return createHash('sha256').update(text).digest('hex');
}

/** The kept resolutions of one cache directory (`root/resolutions`). */
export class Resolutions {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'resolutions');
  }

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The kept resolution for `key`, if there is one and it is still valid now. */
  async get(key: string, now = Date.now()): Promise<KeptResolution | undefined> {
    let rec: KeptResolution;
    try {
      rec = JSON.parse(await readFile(this.path(key), 'utf8')) as KeptResolution;
    } catch {
      return undefined;
    }
    if (rec.key !== key || !Array.isArray(rec.packages) || !Array.isArray(rec.dirs) || !(now < rec.validUntil)) return undefined;
    for (const [dir, mtime] of rec.dirs) {
      const st = await stat(dir).catch(() => undefined);
      if (st?.mtimeMs !== mtime) return undefined;
    }
    return rec;
  }

  /** Keeps a resolution while its sources say it may be reused (not at all when they say nothing). */
  async set(key: string, fresh: Freshness, packages: KeptPackage[], warnings: string[]): Promise<void> {
    if (!(fresh.until > Date.now())) return;
    const rec: KeptResolution = { key, validUntil: fresh.until, dirs: [...fresh.dirs].sort(), packages, warnings };
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(this.path(key), JSON.stringify(rec));
    } catch {
      // The cache only saves work.
    }
  }
}
