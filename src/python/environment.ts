/**
 * The Python packages one target image gets, from the project's dependencies: a lock's packages
 * for the target, checked for completeness; or requirements resolved for the target. Either way
 * each package comes with the wheel chosen for the target, named by hash and size.
 */
import { basename } from 'node:path';
import type { Events } from '../events.js';
import { mapLimit } from '../limit.js';
import type { CoreMetadata } from './core-metadata.js';
import type { Dependencies } from './dependencies.js';
import { resolveWheel, type WheelChoice } from './finder.js';
import { checkLockComplete } from './lock-check.js';
import { readWheelMetadata } from './metadata-fetch.js';
import { TargetProvider, type PackageCatalog } from './provider.js';
import type { LockedPackage } from './requirements.js';
import type { Candidate } from './sources.js';
import { resolve } from './resolver.js';
import { resolutionKey, type KeptPackage } from './resolution-cache.js';
import type { Cache } from '../store/cache.js';
import type { TargetEnv } from './tags.js';

/** One package of an image, and its wheel for the target. */
export interface ChosenPackage {
  pkg: LockedPackage;
  wheel: WheelChoice;
  /** Who required it (resolutions only): package names and versions, or the input file. */
  requiredBy: string[];
  /** The sdist the wheel was built from, when a resolution found no wheel (a lock names the sdist). */
  sdist?: Candidate;
}

/** The packages of one target image. */
export interface Environment {
  packages: ChosenPackage[];
  /** Resolved here (not read from a lock): how many packages the input did not pin with ==. */
  unpinned?: number;
}

/** What choosing an environment needs besides the dependencies and the target. */
export interface EnvironmentContext {
  catalog: PackageCatalog;
  cache: Cache;
  events: Events;
  /** Look for a lock's files on the configured indexes too (see FindOptions.searchIndexes). */
  searchIndexes: boolean;
  /** Versions to try first when resolving (an existing lock's pins). */
  preferences?: ReadonlyMap<string, string>;
}

/** A wheel's core metadata: from where it comes (index, find-links, cache), or from the built file. */
export async function wheelMetadata(ctx: EnvironmentContext, w: WheelChoice): Promise<CoreMetadata> {
  if (w.candidate) return ctx.catalog.metadata.get(w.candidate);
  const f = await w.fetch();
  return readWheelMetadata(f.path, f.filename);
}

const CONCURRENCY = 8;

/** Resolves `deps` for `env` from the sources, and keeps the result while the sources allow. */
async function resolveFresh(
  deps: Extract<Dependencies, { kind: 'resolve' }>,
  env: TargetEnv,
  ctx: EnvironmentContext,
  pre: boolean,
  key: string,
): Promise<{ packages: KeptPackage[]; warnings: string[] }> {
  const { catalog, cache } = ctx;
  const provider = new TargetProvider(catalog, env);
  const result = await resolve(
    { roots: deps.roots, constraints: deps.constraints, env, allowPre: pre, ...(ctx.preferences ? { preferences: ctx.preferences } : {}) },
    provider,
  );
  const packages = await Promise.all(
    result.packages.map(async (node): Promise<KeptPackage> => {
      const { choice } = await provider.files(node.name, node.version);
      const file = choice.best ?? choice.build;
      if (!file) throw new Error(`resolver chose ${node.name} ${node.version}, which has no file for the target`);
      return { ...node, file, sdist: choice.best === undefined };
    }),
  );
  if (catalog.sources.freshness) await cache.resolutions.set(key, catalog.sources.freshness, packages, result.warnings);
  return { packages, warnings: result.warnings };
}

/** The packages `deps` give the target `env`; see the file comment. */
export async function chooseEnvironment(deps: Dependencies, env: TargetEnv, ctx: EnvironmentContext): Promise<Environment> {
  const { catalog, cache, events } = ctx;
  if (deps.kind === 'lock') {
    const pkgs = deps.lock.select(env);
    const packages = await mapLimit(pkgs, CONCURRENCY, async (pkg): Promise<ChosenPackage> => ({
      pkg,
      wheel: await resolveWheel(pkg, env, catalog.sources, cache, events, { searchIndexes: ctx.searchIndexes }),
      requiredBy: [],
    }));
    const checked = await mapLimit(packages, CONCURRENCY, async (p) => ({ pkg: p.pkg, metadata: await wheelMetadata(ctx, p.wheel) }));
    checkLockComplete(deps.lock.file, deps.lock.regenerate, env, checked, deps.roots);
    return { packages };
  }

  const pre = deps.options.pre === true;
  const sources = catalog.sources;
  const key = resolutionKey({ roots: deps.roots, constraints: deps.constraints, pre, preferences: ctx.preferences }, env, sources);
  const kept = await cache.resolutions.get(key);
  const resolved = kept ?? (await resolveFresh(deps, env, ctx, pre, key));
  for (const w of resolved.warnings) events({ type: 'log', level: 'warn', message: `${basename(deps.file)}: ${w}` });
  const pinned = new Set(deps.roots.filter((r) => /^===?[^,*]+$/.test(r.req.specifier)).map((r) => r.req.name));
  const packages = await mapLimit(resolved.packages, CONCURRENCY, async (node): Promise<ChosenPackage> => {
    if (node.yanked !== undefined) {
      events({
        type: 'log',
        level: 'warn',
        message: `${node.name} ${node.version} is yanked${node.yanked ? ` (${node.yanked})` : ''}; it is installed because it is pinned with ==`,
      });
    }
    const pkg: LockedPackage = { name: node.name, version: node.version, hashes: [], source: { file: deps.file, line: 0 } };
    if (node.extras.length) pkg.extras = node.extras;
    const wheel = await resolveWheel(pkg, env, sources, cache, events, { candidates: [node.file] });
    return { pkg, wheel, requiredBy: node.requiredBy, ...(node.sdist ? { sdist: node.file } : {}) };
  });
  return { packages, unpinned: packages.filter((p) => !pinned.has(p.pkg.name)).length };
}
