/**
 * The system-packages part of `shale lock`: `system-packages` resolved per platform on the
 * base, as a build would (src/debian), and written as system-packages.lock.toml beside the
 * Python lock.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import { formatSystemLock, SYSTEM_LOCK } from '../debian/lock.js';
import { DebianInstaller, type PinnedDeb } from '../debian/install.js';
import type { Events } from '../events.js';
import { platformString, type Platform } from '../oci/types.js';
import type { PackageHttp } from '../python/http.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { Cache } from '../store/cache.js';
import type { BaseImage } from './assemble.js';
import { systemOf, systemRequest } from './system-request.js';

/** What locking the system packages gives: the file, its text, and whether it differs from what is there. */
export interface SystemLockResult {
  file: string;
  text: string;
  changed: boolean;
  packages: number;
  /** The pins of each platform, in the order of `platforms`. */
  pins: PinnedDeb[][];
}

/** Resolves the system packages of every system layer on each platform's base (undefined when there are none). Call while the bases' layers can be read. */
export async function lockSystemPackages(
  spec: BuildSpec,
  bases: readonly BaseImage[],
  platforms: readonly Platform[],
  cache: Cache,
  http: PackageHttp,
  events: Events,
): Promise<SystemLockResult | undefined> {
  const req = systemRequest(spec);
  if (!req.groups.length) return undefined;
  events({ type: 'step', step: 'resolving system packages', detail: req.groups.flatMap((g) => g.packages).join(' ') });
  // Afresh: a lock is what the indexes say now, never an earlier resolution.
  const inst = new DebianInstaller({ store: cache.blobs, records: cache.base, layerRecords: cache.records, http, events, noCache: true });
  const locked = await Promise.all(
    bases.map(async (base, i) => {
      const r = await inst.resolve(req, await systemOf(spec, inst, base), platforms[i]!);
      return { platform: platformString(platforms[i]!), base: base.digest, packages: r.pins };
    }),
  );
  const file = join(spec.projectDir, SYSTEM_LOCK);
  const text = formatSystemLock({ request: req.groups, platforms: locked });
  const before = await readFile(file, 'utf8').catch(() => undefined);
  return { file, text, changed: before !== text, packages: locked.reduce((n, p) => n + p.packages.length, 0), pins: locked.map((p) => p.packages) };
}

/** Writes the lock when it changed. */
export async function writeSystemLock(r: SystemLockResult): Promise<void> {
  if (r.changed) await writeFileAtomic(r.file, r.text);
}
