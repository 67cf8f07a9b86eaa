/**
 * `shale lock`: resolve the project's requirements for every platform of the image at once and
 * write them down as one PEP 751 pylock.toml, which later builds install exactly. The targets
 * are the base image's, per platform (its Python and C library), as a build sees them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve as resolvePath } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { isScratch } from '../config/scratch.js';
import { systemGroups, type BuildSpec } from '../config/spec.js';
import { scratchFacts } from '../debian/scratch.js';
import { InputError } from '../errors.js';
import type { Events } from '../events.js';
import { readDependencies, type Dependencies } from '../python/dependencies.js';
import { chooseEnvironment } from '../python/environment.js';
import { indexConfigured, indexSources } from '../python/index-env.js';
import { readLock } from '../python/lock.js';
import { normalizeName } from '../python/names.js';
import { PackageCatalog } from '../python/provider.js';
import { formatPylock, writePylock } from '../python/pylock-write.js';
import { formatRequirement } from '../python/requirement.js';
import type { Resolution, ResolvedPackage } from '../python/resolution.js';
import type { TargetEnv } from '../python/tags.js';
import { platformString, type Platform } from '../oci/types.js';
import { parseReferenceAt } from '../ref/reference.js';
import { RegistryClient } from '../registry/client.js';
import { resolveBase } from './base.js';
import { learnBase } from '../base/facts.js';
import { UNUSED_LIBC } from '../base/libc.js';
import { UNUSED_PYTHON } from '../base/python.js';
import { Cache } from '../store/cache.js';
import type { BuildOptions } from './options.js';
import { packageHttp } from './build-run.js';
import { lockSystemPackages, writeSystemLock, type SystemLockResult } from './lock-system.js';
import { scratchBase } from './steps/resolve-base.js';

/** How to run `shale lock`. */
export interface LockOptions extends Pick<BuildOptions, 'cacheDir' | 'insecureRegistries' | 'registryCa' | 'mirrors' | 'signal' | 'platforms'> {
  /** The lock to write (default DIR/pylock.toml). */
  output?: string;
  /** Resolve every package afresh, ignoring the pins of the existing lock. */
  upgrade?: boolean;
  /** Resolve these afresh, keeping the other pins. */
  upgradePackages?: string[];
  /** Write nothing; report whether the existing lock is what locking now would write. */
  check?: boolean;
}

/** What `shale lock` did. */
export interface LockResult {
  file: string;
  /** The input the lock was made from (requirements.txt, pyproject.toml, ...). */
  input: string;
  /** Packages per platform. */
  packages: Record<string, number>;
  /** Whether the file changed (or, with `check`, would change). */
  changed: boolean;
  /** With `check`: what differs, one line each ("werkzeug 3.1.2 → 3.1.3"). */
  differences: string[];
}

/** The requirements `shale lock` starts from: never the lock it writes. None only when there are system packages to lock instead. */
async function lockInput(spec: BuildSpec, output: string): Promise<Dependencies | undefined> {
  const configured = spec.lock !== undefined && resolvePath(spec.lock) !== output ? spec.lock : undefined;
  let lock = configured;
  if (lock === undefined) {
    // The lock a build would read, unless it is the output: then what the project declares.
    for (const name of ['requirements.txt', 'uv.lock', 'poetry.lock']) {
      const p = join(spec.projectDir, name);
      if (
        p !== output &&
        (await readFile(p).then(
          () => true,
          () => false,
        ))
      ) {
        lock = p;
        break;
      }
    }
  }
  const deps = await readDependencies({ projectDir: spec.projectDir, extras: spec.extras, groups: spec.groups, ...(lock ? { lock } : {}) });
  if (!deps && !systemGroups(spec).length) {
    throw new InputError(
      'SHALE_NO_REQUIREMENTS',
      `${spec.projectDir} declares no Python dependencies (and no system-packages) to lock: add requirements.txt, or [project].dependencies to pyproject.toml`,
    );
  }
  return deps;
}

/** A digest of what decided the resolution, recorded in the lock so a build can tell it is stale. */
export function inputsDigest(deps: Dependencies, spec: Pick<BuildSpec, 'extras' | 'groups'>): string {
  const reqs =
    deps.kind === 'resolve'
      ? [...deps.roots.map((r) => formatRequirement(r.req)), '-c', ...deps.constraints.map((r) => formatRequirement(r.req)), deps.options.pre ? '--pre' : '']
      : [basename(deps.lock.file), ...deps.lock.packages.map((p) => `${p.name}==${p.version}${p.marker ? `; ${p.marker}` : ''}`)];
  const text = JSON.stringify({ reqs, extras: [...spec.extras].sort(), groups: [...spec.groups].sort() });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The pins of an existing lock, as preferences; none when it is missing or unreadable. */
async function existingPins(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    for (const p of (await readLock(file)).packages) out.set(p.name, p.version);
  } catch {
    // No lock yet (or a broken one): resolve afresh.
  }
  return out;
}

function parsed(text: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch {
    return {};
  }
}

/** `[tool.shale.inputs]` of a lock text, as JSON (for comparing). */
function inputsOf(text: string): string {
  const tool = parsed(text)['tool'] as { shale?: { inputs?: unknown } } | undefined;
  return JSON.stringify(tool?.shale?.inputs ?? {});
}

/** Name → versions of a lock text, for --check's report (empty when it is not TOML). */
function pinsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const doc = parsed(text);
  for (const p of Array.isArray(doc['packages']) ? (doc['packages'] as unknown[]) : []) {
    if (typeof p !== 'object' || p === null) continue;
    const { name, version } = p as { name?: unknown; version?: unknown };
    if (typeof name === 'string') out.set(name, [out.get(name), String(version)].filter(Boolean).join(' / '));
  }
  return out;
}

function differences(before: string, after: string): string[] {
  const a = pinsOf(before);
  const b = pinsOf(after);
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x !== y) out.push(`${name} ${x ?? '(none)'} → ${y ?? '(none)'}`);
  }
  if (inputsOf(before) !== inputsOf(after)) out.push('the requirements changed since the lock was written');
  return out.length ? out : ['the files or markers of some packages differ'];
}

/**
 * Why a lock that `shale lock` wrote no longer matches the requirements it was made from
 * (its `[tool.shale.inputs]`), or undefined when it does (or records nothing).
 */
export async function staleLock(spec: BuildSpec, inputs: Record<string, string> | undefined): Promise<string | undefined> {
  for (const [input, digest] of Object.entries(inputs ?? {})) {
    const file = join(spec.projectDir, input);
    const isPyproject = basename(file) === 'pyproject.toml';
    let deps: Dependencies | undefined;
    try {
      deps = await readDependencies({ projectDir: spec.projectDir, extras: spec.extras, groups: spec.groups, ...(isPyproject ? {} : { lock: file }) });
    } catch {
      return `${input}, which it was made from, cannot be read any more`;
    }
    if (!deps) return `${input}, which it was made from, declares no requirements any more`;
    if (inputsDigest(deps, spec) !== digest) return `${input} has changed since it was written`;
  }
  return undefined;
}

/** Resolves the project for every platform and writes (or checks) its pylock.toml. */
export async function lockProject(spec: BuildSpec, opts: LockOptions, events: Events): Promise<LockResult> {
  const output = resolvePath(opts.output ?? join(spec.projectDir, 'pylock.toml'));
  const platforms = opts.platforms ?? spec.platforms;
  const deps = await lockInput(spec, output);
  const before = await readFile(output, 'utf8').catch(() => undefined);
  const preferences = opts.upgrade ? new Map<string, string>() : await existingPins(output);
  for (const name of opts.upgradePackages ?? []) preferences.delete(normalizeName(name));

  const cache = Cache.open(opts.cacheDir, events);
  // One client for package downloads (Debian archives, wheel indexes): one connection pool.
  const http = packageHttp(opts, events);
  const client = new RegistryClient({
    insecureRegistries: opts.insecureRegistries,
    events,
    caFiles: opts.registryCa ?? [],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let envs: TargetEnv[];
  let system: SystemLockResult | undefined;
  try {
    if (isScratch(spec)) {
      // A base made of packages: its Python and C library are those the system packages resolve to.
      const bases = platforms.map((p) => scratchBase(spec.distribution ?? '', p));
      system = await lockSystemPackages(spec, bases, platforms, cache, http, events);
      envs = platforms.map((platform, i) => {
        const facts = scratchFacts(system?.pins[i] ?? [], spec, { libc: true, python: true });
        return { python: (facts.python ?? UNUSED_PYTHON).version, platform, libc: facts.libc ?? UNUSED_LIBC };
      });
    } else {
      events({ type: 'step', step: 'resolving base image', detail: spec.base });
      const bases = await resolveBase(client, parseReferenceAt(`${spec.configFile}: \`base\``, spec.base), platforms, opts.mirrors);
      envs = await Promise.all(
        (deps ? bases : []).map(async (base, i) => {
          const facts = await learnBase(
            base,
            { libc: spec.libc, python: spec.python },
            { libc: true, python: true },
            { records: cache.base, noCache: false, events },
          );
          return { python: (facts.python ?? UNUSED_PYTHON).version, platform: platforms[i]!, libc: facts.libc ?? UNUSED_LIBC };
        }),
      );
      // Debian packages (src/debian) pinned per platform too, while the bases' layers can be read.
      system = await lockSystemPackages(spec, bases, platforms, cache, http, events);
    }
  } finally {
    await client.close();
  }
  if (!deps) return systemOnly(system!, platforms, opts.check === true);
  const input = relative(spec.projectDir, deps.kind === 'lock' ? deps.lock.file : deps.file) || basename(output);

  const options = deps.kind === 'lock' ? deps.lock.options : deps.options;
  const sources = {
    findLinks: [...spec.findLinks, ...options.findLinks],
    ...indexSources(spec, options),
    noIndex: spec.noIndex || options.noIndex,
    projectDir: spec.projectDir,
    pages: new Map(),
    pageCache: cache.pages,
    http,
  };
  const catalog = new PackageCatalog(sources, cache, events);
  const ctx = { catalog, cache, events, searchIndexes: indexConfigured(spec, options), preferences };
  events({ type: 'step', step: 'resolving', detail: `${input} for ${platforms.length} platform(s)` });
  const resolutions: Resolution[] = await Promise.all(
    envs.map(async (env): Promise<Resolution> => {
      const chosen = await chooseEnvironment(deps, env, ctx);
      const packages = await Promise.all(
        chosen.packages.map(async ({ pkg, wheel, requiredBy, sdist }): Promise<ResolvedPackage> => {
          // A wheel built here from an sdist exists nowhere else: the lock names the sdist.
          const c = sdist ?? wheel.candidate;
          const sha256 = sdist ? (sdist.sha256 ?? (sdist.path ? (await cache.hashes.hash(sdist.path)).sha256 : undefined)) : wheel.sha256;
          if (!c || sha256 === undefined) {
            throw new InputError(
              'SHALE_LOCK_UNSUPPORTED',
              `${pkg.name} ${pkg.version} comes from a source distribution whose hash nothing states; a lock must name every file by hash. Publish a wheel of it to find-links or an index`,
            );
          }
          const file: ResolvedPackage['file'] = { filename: c.filename, sha256 };
          const size = sdist ? sdist.size : wheel.size;
          if (size !== undefined) file.size = size;
          if (c.url !== undefined) file.url = c.url;
          else if (c.path !== undefined) file.path = c.path;
          const out: ResolvedPackage = { name: pkg.name, version: pkg.version, file, extras: pkg.extras ?? [], requiredBy };
          if (c.authFrom !== undefined) out.index = c.authFrom;
          return out;
        }),
      );
      return { env, packages };
    }),
  );
  const text = formatPylock(resolutions, {
    lockDir: dirname(output),
    requiresPython: `==${envs[0]?.python ?? '3'}.*`,
    createdBy: 'shale',
    inputs: { [input]: inputsDigest(deps, spec) },
  });
  await cache.save().catch(() => undefined); // hashes only save work for the next run
  const changed = before !== text;
  const packages = Object.fromEntries(
    resolutions.map((r, i) => [
      `${platforms[i]!.os}/${platforms[i]!.architecture}${platforms[i]!.variant ? `/${platforms[i]!.variant}` : ''}`,
      r.packages.length,
    ]),
  );
  if (opts.check) {
    const diffs = changed ? (before === undefined ? [`${output} does not exist`] : differences(before, text)) : [];
    if (system?.changed) diffs.push(`${system.file} is not what locking system-packages gives now`);
    return { file: output, input, packages, changed: changed || system?.changed === true, differences: diffs };
  }
  if (system) await writeSystemLock(system);
  if (changed) await writePylock(output, text);
  return { file: output, input, packages, changed, differences: [] };
}

/** `shale lock` of a project with system packages and no Python dependencies: the system lock alone. */
async function systemOnly(system: SystemLockResult, platforms: readonly Platform[], check: boolean): Promise<LockResult> {
  const packages = Object.fromEntries(platforms.map((p, i) => [platformString(p), system.pins[i]?.length ?? 0]));
  const result = { file: system.file, input: 'system-packages', packages, changed: system.changed };
  if (check) return { ...result, differences: system.changed ? [`${system.file} is not what locking system-packages gives now`] : [] };
  await writeSystemLock(system);
  return { ...result, differences: [] };
}
