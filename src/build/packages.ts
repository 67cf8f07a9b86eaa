import { relative } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import type { Events } from '../events.js';
import { findWheel, type WheelFile } from '../python/finder.js';
import { installWheel, type InstalledDist } from '../python/install.js';
import { installLocalLib } from '../python/local-lib.js';
import type { InstallLayout } from '../python/layout.js';
import { readRequirements, selectForEnv, type Requirements } from '../python/requirements.js';
import type { TargetEnv } from '../python/tags.js';
import type { LibInput, PackageInput } from '../plan/layers.js';
import { mapLimit } from '../store/map-limit.js';

/**
 * Resolves the app's third-party packages and local libraries for one platform: the wheel that
 * fits each locked package, installed into the image's layout. Installs are shared between
 * platforms when the wheel and layout are the same (pure wheels).
 */
export class PackageResolver {
  private lock: Promise<Requirements | undefined> | undefined;
  private readonly installs = new Map<string, Promise<InstalledDist>>();

  constructor(
    private readonly spec: BuildSpec,
    private readonly cacheDir: string,
    private readonly events: Events,
  ) {}

  /** The lock file's packages and options, read once. */
  requirements(): Promise<Requirements | undefined> {
    this.lock ??= this.spec.lock ? readRequirements(this.spec.lock) : Promise.resolve(undefined);
    return this.lock;
  }

  /** Every locked package that applies to `env`, installed for `layout`. */
  async packages(env: TargetEnv, layout: InstallLayout): Promise<PackageInput[]> {
    const req = await this.requirements();
    if (!req) return [];
    const pkgs = selectForEnv(req.packages, env);
    const sources = {
      findLinks: [...this.spec.findLinks, ...req.options.findLinks],
      indexUrl: req.options.indexUrl ?? this.spec.indexUrl,
      noIndex: this.spec.noIndex || req.options.noIndex,
      projectDir: this.spec.projectDir,
    };
    return mapLimit(pkgs, 4, async (pkg) => {
      const wheel = await findWheel(pkg, env, sources, this.cacheDir, this.events);
      const dist = await this.install(wheel, layout);
      return { name: pkg.name, version: pkg.version, wheel: wheel.filename, sha256: wheel.sha256, pure: wheel.pure, installedSize: dist.installedSize, entries: dist.entries };
    });
  }

  private install(wheel: WheelFile, layout: InstallLayout): Promise<InstalledDist> {
    const key = `${wheel.sha256}|${JSON.stringify(layout)}`;
    let p = this.installs.get(key);
    if (!p) {
      p = installWheel(wheel, layout);
      this.installs.set(key, p);
    }
    return p;
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
