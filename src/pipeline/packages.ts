import { relative } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import type { Entry } from '../layer/entry.js';
import { bytecodeKey, compileBytecode } from '../python/bytecode.js';
import { hostCaBundle } from '../python/ca-certs.js';
import type { WheelChoice } from '../python/finder.js';
import type { RequirementsOptions } from '../python/requirements.js';
import { findHostPython, type HostPython } from '../python/host-python.js';
import { installWheel, type InstalledDist } from '../python/install.js';
import { installLocalLib } from '../python/local-lib.js';
import type { InstallLayout } from '../python/layout.js';
import type { Link } from '../python/links.js';
import type { TargetEnv } from '../python/tags.js';
import type { LibInput, PackageInput } from '../plan/layers.js';
import { indexConfigured, indexSources } from '../python/index-env.js';
import { readDependencies, type Dependencies } from '../python/dependencies.js';
import { chooseEnvironment } from '../python/environment.js';
import type { PackageHttp } from '../python/http.js';
import { PackageCatalog } from '../python/provider.js';
import { basename } from 'node:path';
import type { Cache } from '../store/cache.js';
import { staleLock } from './lock-project.js';

/**
 * The app's third-party packages and local libraries for each platform: a lock's packages
 * (checked for completeness) or the requirements resolved for the platform, each with the wheel
 * that fits, named by hash and size without downloading where possible, and installed into the
 * image's layout only when a layer's entries are asked for. Installs are shared between
 * platforms when the wheel and layout are the same (pure wheels).
 */
export class PackageResolver {
  private deps: Promise<Dependencies | undefined> | undefined;
  private catalogs = new Map<string, PackageCatalog>();
  private told = false;
  private readonly installs = new Map<string, Promise<InstalledDist>>();
  /** Index and find-links pages, read once per build. */
  private readonly pages = new Map<string, Promise<Link[]>>();
  /** With `compile-bytecode`: the host Python per image X.Y, looked for once. */
  private readonly hostPythons = new Map<string, Promise<HostPython>>();
  private caBundle: Promise<Entry[] | undefined> | undefined;

  constructor(
    private readonly spec: BuildSpec,
    private readonly cache: Cache,
    private readonly events: Events,
    /** The build's client for index pages and downloads (its Ctrl-C signal and retry budget). */
    private readonly http?: PackageHttp,
  ) {}

  /** The project's dependencies (a lock, or requirements to resolve), read once. */
  dependencies(): Promise<Dependencies | undefined> {
    this.deps ??= readDependencies(this.spec).then(async (deps) => {
      if (deps?.kind === 'lock' && deps.lock.inputs) {
        const why = await staleLock(this.spec, deps.lock.inputs);
        if (why)
          this.events({
            type: 'log',
            level: 'warn',
            message: `${basename(deps.lock.file)} is stale: ${why}. The build installs what the lock pins; run \`shale lock\` to update it`,
          });
      }
      return deps;
    });
    return this.deps;
  }

  /** The package sources of the dependencies' options, with listings and metadata shared by every platform. */
  private catalog(options: RequirementsOptions): { catalog: PackageCatalog; searchIndexes: boolean } {
    const key = JSON.stringify(options);
    let catalog = this.catalogs.get(key);
    if (!catalog) {
      const sources = {
        findLinks: [...this.spec.findLinks, ...options.findLinks],
        ...indexSources(this.spec, options),
        noIndex: this.spec.noIndex || options.noIndex,
        projectDir: this.spec.projectDir,
        pages: this.pages,
        pageCache: this.cache.pages,
        ...(this.http ? { http: this.http } : {}),
      };
      this.catalogs.set(key, (catalog = new PackageCatalog(sources, this.cache, this.events)));
    }
    return { catalog, searchIndexes: indexConfigured(this.spec, options) };
  }

  /**
   * Every package `env` gets (a lock's, checked; or resolved for it), each with its wheel;
   * `entries()` installs it for `layout` on first use.
   */
  async packages(env: TargetEnv, layout: InstallLayout): Promise<PackageInput[]> {
    const deps = await this.dependencies();
    if (!deps) return [];
    const options = deps.kind === 'lock' ? deps.lock.options : deps.options;
    const { catalog, searchIndexes } = this.catalog(options);
    // Found before planning: the compiler's version is part of every package layer's fingerprint.
    const [py, chosen] = await Promise.all([
      this.spec.compileBytecode ? this.hostPython(env.python) : undefined,
      chooseEnvironment(deps, env, { catalog, cache: this.cache, events: this.events, searchIndexes }),
    ]);
    if (deps.kind === 'resolve' && chosen.unpinned && !this.told) {
      this.told = true;
      this.events({
        type: 'log',
        level: 'info',
        message: `${basename(deps.file)}: resolved ${chosen.unpinned} package(s) it does not pin with ==, as pip would; \`shale lock\` writes them to pylock.toml so every build installs the same versions`,
      });
    }
    return chosen.packages.map(({ pkg, wheel }): PackageInput => ({
      name: pkg.name,
      version: pkg.version,
      wheel: wheel.filename,
      sha256: wheel.sha256,
      pure: wheel.pure,
      size: wheel.size,
      ...(py ? { bytecode: bytecodeKey(py) } : {}),
      entries: async () => (await this.install(wheel, layout, py)).entries,
    }));
  }

  /** Fetches and installs a wheel (compiling its bytecode with `py`), once per sha256, layout and compiler. */
  private install(wheel: WheelChoice, layout: InstallLayout, py?: HostPython): Promise<InstalledDist> {
    const key = `${wheel.sha256}|${JSON.stringify(layout)}|${py ? bytecodeKey(py) : ''}`;
    let p = this.installs.get(key);
    if (!p) {
      p = wheel.fetch().then(async (file) => {
        const dist = await installWheel(file, layout);
        if (!py) return dist;
        const compiled = await compileBytecode(dist, layout, py);
        if (compiled.skipped.length) {
          this.events({
            type: 'log',
            level: 'debug',
            message: `${wheel.filename}: no bytecode for ${compiled.skipped.length} file(s) that ${py.path} cannot compile: ${compiled.skipped.slice(0, 3).join(', ')}`,
          });
        }
        return compiled.dist;
      });
      this.installs.set(key, p);
    }
    return p;
  }

  /** The host Python that compiles bytecode for an image of Python `minor`, found once. */
  private hostPython(minor: string): Promise<HostPython> {
    let p = this.hostPythons.get(minor);
    if (!p) {
      p = findHostPython(minor);
      this.hostPythons.set(minor, p);
    }
    return p;
  }

  /** With `ca-certs`, the entries of the `ca-certs` layer (the host's CA bundle), read once. */
  caCerts(): Promise<Entry[] | undefined> {
    this.caBundle ??= this.spec.caCerts ? hostCaBundle(this.spec.configFile) : Promise.resolve(undefined);
    return this.caBundle;
  }

  /** Whether explicit layers name local libraries (installed into the image's Python like packages). */
  hasLibs(): boolean {
    return (this.spec.layers ?? []).some((l) => (l.paths ?? []).length > 0);
  }

  /** The local libraries named by `paths` of explicit layers, installed for `layout`. */
  async libs(layout: InstallLayout): Promise<LibInput[]> {
    const dirs = (this.spec.layers ?? []).flatMap((l) => l.paths ?? []);
    return Promise.all(
      dirs.map(async (dir) => {
        const dist = await installLocalLib(dir, layout);
        return { name: dist.name, dir: relative(this.spec.projectDir, dir), entries: dist.entries };
      }),
    );
  }
}
