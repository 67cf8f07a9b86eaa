import { relative } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import type { Entry } from '../layer/entry.js';
import { bytecodeKey, compileBytecode } from '../python/bytecode.js';
import { hostCaBundle } from '../python/ca-certs.js';
import { resolveWheel, type WheelChoice } from '../python/finder.js';
import { findHostPython, type HostPython } from '../python/host-python.js';
import { installWheel, type InstalledDist } from '../python/install.js';
import { installLocalLib } from '../python/local-lib.js';
import type { InstallLayout } from '../python/layout.js';
import { readLock, type Lock } from '../python/lock.js';
import type { Link } from '../python/links.js';
import type { TargetEnv } from '../python/tags.js';
import type { LibInput, PackageInput } from '../plan/layers.js';
import { indexSources } from '../python/index-env.js';
import { mapLimit } from '../limit.js';

/**
 * Resolves the app's third-party packages and local libraries for one platform: the wheel that
 * fits each locked package, named by hash and size without downloading where possible, and
 * installed into the image's layout only when a layer's entries are asked for. Installs are
 * shared between platforms when the wheel and layout are the same (pure wheels).
 */
export class PackageResolver {
  private lock: Promise<Lock | undefined> | undefined;
  private readonly installs = new Map<string, Promise<InstalledDist>>();
  /** Index and find-links pages, read once per build. */
  private readonly pages = new Map<string, Promise<Link[]>>();
  /** With `compile-bytecode`: the host Python per image X.Y, looked for once. */
  private readonly hostPythons = new Map<string, Promise<HostPython>>();
  private caBundle: Promise<Entry[] | undefined> | undefined;

  constructor(
    private readonly spec: BuildSpec,
    private readonly cacheDir: string,
    private readonly events: Events,
  ) {}

  /** The lock file's packages and options, read once (requirements.txt, pylock.toml or uv.lock). */
  requirements(): Promise<Lock | undefined> {
    this.lock ??= this.spec.lock ? readLock(this.spec.lock) : Promise.resolve(undefined);
    return this.lock;
  }

  /** Every locked package that applies to `env`; `entries()` installs it for `layout` on first use. */
  async packages(env: TargetEnv, layout: InstallLayout): Promise<PackageInput[]> {
    const req = await this.requirements();
    if (!req) return [];
    const pkgs = req.select(env);
    // Found before planning: the compiler's version is part of every package layer's fingerprint.
    const py = this.spec.compileBytecode ? await this.hostPython(env.python) : undefined;
    const sources = {
      findLinks: [...this.spec.findLinks, ...req.options.findLinks],
      ...indexSources(this.spec, req.options),
      noIndex: this.spec.noIndex || req.options.noIndex,
      projectDir: this.spec.projectDir,
      pages: this.pages,
    };
    return mapLimit(pkgs, 4, async (pkg): Promise<PackageInput> => {
      const wheel = await resolveWheel(pkg, env, sources, this.cacheDir, this.events);
      return {
        name: pkg.name,
        version: pkg.version,
        wheel: wheel.filename,
        sha256: wheel.sha256,
        pure: wheel.pure,
        size: wheel.size,
        ...(py ? { bytecode: bytecodeKey(py) } : {}),
        entries: async () => (await this.install(wheel, layout, py)).entries,
      };
    });
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
          this.events({ type: 'log', level: 'debug', message: `${wheel.filename}: no bytecode for ${compiled.skipped.length} file(s) that ${py.path} cannot compile: ${compiled.skipped.slice(0, 3).join(', ')}` });
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
