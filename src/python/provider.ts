/**
 * The resolver's view of the package sources for one target: which versions of a project exist
 * and can be installed there (a wheel that fits by tag, a Requires-Python that fits, or a
 * buildable sdist), and the core metadata of a version, read from its best file. Listings and
 * metadata are shared by every target of a build ({@link PackageCatalog}).
 */
import { noEvents, type Events } from '../events.js';
import type { CoreMetadata } from './core-metadata.js';
import { MetadataFetcher, readWheelMetadata } from './metadata-fetch.js';
import { matchSdistFilename, normalizeName, normalizeVersion, parseWheelFilename, isPureWheel } from './names.js';
import { pythonFits } from './pep440.js';
import type { LockedFile, LockedPackage } from './requirements.js';
import type { ResolverProvider, VersionInfo } from './resolver.js';
import { canExtractSdist } from './safe-extract.js';
import { chooseSdist } from './sdist-build.js';
import { listCandidates, type Candidate, type PackageSources } from './sources.js';
import { chooseWheel, describeEnv, type TargetEnv } from './tags.js';
import type { Cache } from '../store/cache.js';

/** The files of one version of a project. */
export interface VersionFiles {
  version: string;
  wheels: Candidate[];
  sdists: Candidate[];
}

/** Every source's files, grouped by project and version, and their metadata: read once per build. */
export class PackageCatalog {
  private readonly listings = new Map<string, Promise<Map<string, VersionFiles>>>();
  readonly metadata: MetadataFetcher;

  constructor(
    readonly sources: PackageSources,
    readonly cache: Cache,
    readonly events: Events = noEvents,
  ) {
    this.metadata = new MetadataFetcher(cache, events, sources.http);
    // What the listings are read from, and for how long they stay valid (resolution-cache.ts).
    sources.freshness ??= { until: Number.MAX_SAFE_INTEGER, dirs: new Map() };
  }

  /** The files the sources offer for a project, by normalized version. */
  project(name: string): Promise<Map<string, VersionFiles>> {
    const key = normalizeName(name);
    let p = this.listings.get(key);
    if (!p) {
      p = listCandidates(key, this.sources).then((all) => group(key, all));
      this.listings.set(key, p);
      p.catch(() => this.listings.delete(key));
    }
    return p;
  }
}

function group(name: string, all: Candidate[]): Map<string, VersionFiles> {
  const out = new Map<string, VersionFiles>();
  const at = (version: string): VersionFiles => {
    const key = normalizeVersion(version);
    let v = out.get(key);
    if (!v) out.set(key, (v = { version, wheels: [], sdists: [] }));
    return v;
  };
  for (const c of all) {
    const w = parseWheelFilename(c.filename);
    if (w) {
      if (normalizeName(w.name) === name) at(w.version).wheels.push(c);
      continue;
    }
    const s = matchSdistFilename(c.filename, name);
    if (s) at(s.version).sdists.push(c);
  }
  return out;
}

/** The platform parts of wheel file names, for "wheels exist only for ..." messages. */
function platformsOf(wheels: Candidate[]): string {
  const tags = new Set<string>();
  for (const w of wheels) for (const t of parseWheelFilename(w.filename)?.platTags ?? []) tags.add(t);
  const list = [...tags].sort();
  return list.length > 6 ? `${list.slice(0, 6).join(', ')}, …` : list.join(', ');
}

/** A version's file choice for one target. */
interface Choice {
  best?: Candidate;
  /** The version has only sdists (or only pure wheels that do not fit): the wheel is built. */
  build?: Candidate;
  why?: string;
}

/** {@link ResolverProvider} over a catalog, for one target image. */
export class TargetProvider implements ResolverProvider {
  private readonly built = new Map<string, Promise<CoreMetadata>>();

  constructor(
    private readonly catalog: PackageCatalog,
    readonly env: TargetEnv,
  ) {}

  /** The file of `files` this target would install, or why none. */
  choose(files: VersionFiles): Choice {
    const fits = (c: Candidate): boolean => pythonFits(this.env.python, c.requiresPython);
    const wheels = files.wheels.filter(fits);
    const bestName = chooseWheel(
      wheels.map((w) => w.filename),
      this.env,
    );
    // The same file name from several sources: the first one (find-links before indexes).
    const best = bestName === undefined ? undefined : wheels.find((w) => w.filename === bestName);
    if (best) return { best };
    const sdists = files.sdists.filter(fits).filter((s) => canExtractSdist(s.filename));
    if (
      sdists.length &&
      files.wheels.every((w) => {
        const p = parseWheelFilename(w.filename);
        return p !== undefined && isPureWheel(p);
      })
    ) {
      const [first] = [...sdists].sort((a, b) => Number(/\.zip$/i.test(a.filename)) - Number(/\.zip$/i.test(b.filename)) || Number(!a.path) - Number(!b.path));
      if (first) return { build: first };
    }
    const all = [...files.wheels, ...files.sdists];
    const python = all.find((c) => !fits(c))?.requiresPython;
    if (all.length && all.every((c) => !fits(c))) return { why: `requires Python ${python ?? '?'}, and the image has Python ${this.env.python}` };
    if (files.wheels.length) {
      const names = [...new Set(files.wheels.map((w) => w.filename))].sort();
      const listed = names.length <= 4 ? `: ${names.join(', ')}` : ` (wheels only for ${platformsOf(files.wheels)})`;
      return { why: `no wheel fits ${describeEnv(this.env)}${listed}` };
    }
    return { why: `only source distributions shale cannot build (${files.sdists.map((s) => s.filename).join(', ')})` };
  }

  async versions(name: string): Promise<VersionInfo[]> {
    const out: VersionInfo[] = [];
    for (const files of (await this.catalog.project(name)).values()) {
      const choice = this.choose(files);
      const info: VersionInfo = { version: files.version, usable: choice.best !== undefined || choice.build !== undefined };
      if (choice.why) info.why = choice.why;
      const all = [...files.wheels, ...files.sdists];
      if (all.length && all.every((c) => c.yanked !== undefined)) info.yanked = all.find((c) => c.yanked)?.yanked ?? '';
      out.push(info);
    }
    return out;
  }

  /** The files of one version, and the one this target uses. */
  async files(name: string, version: string): Promise<{ files: VersionFiles; choice: Choice }> {
    const files = (await this.catalog.project(name)).get(normalizeVersion(version));
    if (!files) throw new Error(`${name} ${version} is not in the catalog`);
    return { files, choice: this.choose(files) };
  }

  async metadata(name: string, version: string): Promise<CoreMetadata> {
    const { choice } = await this.files(name, version);
    if (choice.best) return this.catalog.metadata.get(choice.best);
    if (choice.build) return this.buildMetadata(name, version, choice.build);
    throw new Error(`${name} ${version} has no file for ${describeEnv(this.env)}`);
  }

  /** Metadata of an sdist-only version: the wheel is built (and cached) as the install will need it. */
  private buildMetadata(name: string, version: string, sdist: Candidate): Promise<CoreMetadata> {
    const key = `${sdist.sha256 ?? sdist.url ?? sdist.path}|${this.env.python}`;
    let p = this.built.get(key);
    if (!p) {
      const pkg: LockedPackage = { name, version, hashes: [], source: { file: 'the resolution', line: 0 } };
      p = chooseSdist(pkg, sdist, this.env, this.catalog.cache, this.catalog.events)
        .then((w) => w.fetch())
        .then((f) => readWheelMetadata(f.path, f.filename));
      this.built.set(key, p);
    }
    return p;
  }
}

/** A candidate as a lock file entry (what LockedPackage.files holds). */
export function lockedFile(c: Candidate): LockedFile {
  const f: LockedFile = { filename: c.filename };
  if (c.url !== undefined) f.url = c.url;
  if (c.path !== undefined) f.path = c.path;
  if (c.sha256 !== undefined) f.sha256 = c.sha256;
  if (c.size !== undefined) f.size = c.size;
  return f;
}
