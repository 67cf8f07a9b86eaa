import { availableParallelism } from 'node:os';
import type { Events } from '../events.js';
import { limiter, mapLimit } from '../limit.js';
import { writeLayerBlob } from '../layer/blob.js';
import { Annotation } from '../oci/annotations.js';
import { lazyLayer, withDescriptor, type Layer } from '../oci/image.js';
import { MediaType, type Descriptor } from '../oci/types.js';
import { describeChange } from '../plan/explain.js';
import { fingerprint } from '../plan/fingerprint.js';
import type { LayerInputs, PackageInput, PlannedLayer } from '../plan/layers.js';
import { PackageFiles, packageFilesKey, packageRoots, reachesRoots, underRoots } from '../plan/package-files.js';
import { checkPathConflicts, type ClaimSet } from '../plan/path-conflicts.js';
import type { InstallLayout } from '../python/layout.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Cache } from '../store/cache.js';
import type { FingerprintIndex, IndexedLayer } from '../store/fingerprint-index.js';
import type { LayerRecords } from '../store/layer-records.js';
import { cachedLayer } from '../store/stored-layer.js';
import type { RemoteLayer } from './registry-cache.js';
import type { LayerSource } from './result.js';

/** The caches a build uses: local blobs and fingerprint index, and layers earlier images hold. */
export interface LayerCache {
  blobs: BlobStore;
  index: FingerprintIndex;
  records: LayerRecords;
  /** Layers of the previous image at the push target (and --cache-from), by fingerprint; they open from their registry. */
  remote: ReadonlyMap<string, RemoteLayer>;
}

/** A planned layer made real, with where it came from and why (for `--json` and `--explain`). */
export interface MaterializedLayer {
  layer: Layer;
  source: LayerSource;
  reason: string;
}

/**
 * Turns a planned layer into a Layer, in order of preference (docs/design.md, "Flow of `shale
 * build`", step 4): the local cache by fingerprint; the registry, when an earlier image there
 * has a layer with the same fingerprint (nothing is built or downloaded: its bytes open lazily,
 * only if an output needs them); otherwise built as a reproducible tar+gzip into the blob store
 * and indexed. `noCache` skips both caches. Layers of one fingerprint are made once per run (shared across platforms).
 */
export class LayerMaker {
  private readonly inflight = new Map<string, Promise<MaterializedLayer>>();
  private readonly lookups = new Map<string, Promise<IndexedLayer | undefined>>();
  /** One layer build per core: gzip is the bottleneck, and more at once only adds memory. */
  private readonly building = limiter(Math.max(1, availableParallelism()));
  /** Installed file lists of packages, shared by every platform (see checkPaths). */
  private packageFiles: PackageFiles | undefined;

  constructor(
    private readonly cache: LayerCache,
    private readonly opts: {
      noCache: boolean;
      epoch: number;
      events: Events;
      projectDir: string;
      projectPath?: (imagePath: string, kind: LayerInputs['kind']) => string;
    },
  ) {}

  make(plan: PlannedLayer, platform: string, showPlatform: boolean): Promise<MaterializedLayer> {
    let p = this.inflight.get(plan.fingerprint);
    if (!p) {
      p = this.makeOnce(plan, showPlatform ? platform : undefined).then((m) => ({ ...m, layer: named(m.layer, plan.name) }));
      this.inflight.set(plan.fingerprint, p);
    }
    const record = [this.opts.projectDir, platform, plan.name];
    return p.then(async (made) => {
      const reason = made.source === 'built' && !this.opts.noCache ? await this.whyRebuilt(record, plan) : made.reason;
      await this.cache.records.set(record, plan.inputs);
      return { ...made, reason };
    });
  }

  private async whyRebuilt(record: string[], plan: PlannedLayer): Promise<string> {
    const prev = (await this.cache.records.get(record)) as LayerInputs | undefined;
    // The same inputs as last time: the layer was not changed, it was gone (a wiped or pruned cache, a new registry).
    if (prev && typeof prev === 'object' && fingerprint(prev) === plan.fingerprint)
      return 'rebuilt, inputs unchanged but the layer was not in the local cache or the registry';
    if (prev && typeof prev === 'object' && 'kind' in prev) return `rebuilt, ${describeChange(prev, plan.inputs, this.opts.projectPath)}`;
    return 'built (no layer with these inputs in the local cache or the registry)';
  }

  /**
   * Refuses, before any layer is made, a path that two of the planned layers (or two packages of
   * one layer) write differently (plan/path-conflicts.ts). File layers' paths are in their
   * inputs; packages' come from their cached file lists (PackageFiles), so a reused layer is not
   * built and, once listed, its wheel not opened. A set of packages found free of conflicts is
   * recorded, so a rebuild that changes no package reads no list: the app, the CA bundle and
   * local libraries outside the package directories are checked against each other only.
   */
  async checkPaths(plans: readonly PlannedLayer[], packages: readonly PackageInput[], layout: InstallLayout, cache: Cache): Promise<void> {
    const fileSets: ClaimSet[] = [];
    const ownerOf = new Map<PlannedLayer, ClaimSet>();
    for (const plan of plans) {
      // System layers write below /usr, /etc and /var by Debian's rules, not the project's paths.
      if (plan.inputs.kind === 'packages' || plan.inputs.kind === 'system') continue;
      const set = { owner: { layer: plan.name, label: FILE_LAYER_LABELS[plan.inputs.kind], package: false }, files: plan.inputs.files };
      fileSets.push(set);
      ownerOf.set(plan, set);
    }
    if (!packages.length) return checkPathConflicts(fileSets);
    // The verdict depends on the packages and on the file layers that reach where packages write
    // (local libraries in site-packages, say); the app in its workdir does not.
    const roots = packageRoots(layout);
    const near = plans.filter((p) => ownerOf.has(p) && reachesRoots(ownerOf.get(p)!.files, roots));
    const verdict = [
      'path-conflicts',
      fingerprint({ format: VERDICT_FORMAT, packages: packages.map((p) => packageFilesKey(p, layout)).sort(), near: near.map((p) => p.fingerprint).sort() }),
    ];
    if (!this.opts.noCache && (await this.cache.records.get(verdict)) === true) return checkPathConflicts(fileSets);

    this.packageFiles ??= new PackageFiles(cache, !this.opts.noCache);
    const files = this.packageFiles;
    const byName = new Map(packages.map((p) => [p.name, p]));
    // In layer order, lowest first, so a message can say which file would win.
    const owners = plans
      .filter((plan) => plan.inputs.kind !== 'system')
      .flatMap((plan) => (plan.inputs.kind === 'packages' ? plan.inputs.wheels.map((w) => ({ plan, pkg: byName.get(w.name) })) : [{ plan, pkg: undefined }]));
    const sets = await mapLimit(owners, 8, async ({ plan, pkg }): Promise<ClaimSet> => {
      if (!pkg) return ownerOf.get(plan) ?? { owner: { layer: plan.name, label: plan.name, package: false }, files: [] };
      return { owner: { layer: plan.name, label: `${pkg.name} ${pkg.version}`, package: true }, files: await files.files(pkg, layout) };
    });
    checkPathConflicts(sets);
    // Leaving the other file layers out next time is sound only while packages stay below the
    // roots (installWheel guarantees it; this keeps the shortcut honest if that ever changes).
    if (sets.every((s) => !s.owner.package || s.files.every((f) => f.kind === 'd' || underRoots(f.path, roots)))) await this.cache.records.set(verdict, true);
  }

  /**
   * Looks a layer up in the local cache (once per fingerprint). Looking every layer up before
   * making any lets all builds queue at once, so the heaviest start first.
   */
  lookup(plan: PlannedLayer): Promise<IndexedLayer | undefined> {
    if (this.opts.noCache) return Promise.resolve(undefined);
    let p = this.lookups.get(plan.fingerprint);
    if (!p) {
      p = this.cache.index.get(plan.fingerprint);
      this.lookups.set(plan.fingerprint, p);
    }
    return p;
  }

  private async makeOnce(plan: PlannedLayer, platform: string | undefined): Promise<MaterializedLayer> {
    const { events } = this.opts;
    const at = platform ? { platform } : {};
    if (!this.opts.noCache) {
      const hit = await this.lookup(plan);
      if (hit) {
        events({ type: 'layer', name: plan.name, ...at, status: 'cached', digest: hit.descriptor.digest, size: hit.descriptor.size });
        return { layer: cachedLayer(this.cache.blobs, hit), source: 'cache', reason: 'reused from the local cache' };
      }
      const remote = this.cache.remote.get(plan.fingerprint);
      if (remote) {
        const { descriptor } = remote.layer;
        events({ type: 'layer', name: plan.name, ...at, status: 'registry', digest: descriptor.digest, size: descriptor.size });
        return { layer: remote.layer, source: 'registry', reason: `reused from registry (${remote.from})` };
      }
    }
    const blob = await this.building(async () => {
      events({ type: 'layer', name: plan.name, ...at, status: 'building' });
      return writeLayerBlob(await plan.entries(), { mtime: this.opts.epoch }, this.cache.blobs);
    }, plan.weight);
    const descriptor: Descriptor = {
      mediaType: MediaType.OciLayerGzip,
      digest: blob.digest,
      size: blob.size,
      annotations: { [Annotation.LayerName]: plan.name, [Annotation.LayerInputs]: plan.fingerprint },
    };
    await this.cache.index.set(plan.fingerprint, { descriptor, diffId: blob.diffId, name: plan.name });
    events({ type: 'layer', name: plan.name, ...at, status: 'built', digest: blob.digest, size: blob.size });
    const layer = lazyLayer(descriptor, blob.diffId, () => this.cache.blobs.open(blob.digest));
    return { layer, source: 'built', reason: this.opts.noCache ? 'built (--no-cache)' : 'built' };
  }
}

/** Bumped when what a recorded path-conflict verdict means changes. */
const VERDICT_FORMAT = 1;

/** How conflict messages name the layers that hold the project's own files. */
const FILE_LAYER_LABELS = { app: 'the app', libs: 'the local libraries', 'ca-certs': 'the CA bundle', users: 'the users layer' } as const;

/**
 * The layer under this build's name: a reused layer may have been made under another name with
 * the same inputs. Annotations are not part of the blob, so renaming costs nothing.
 */
function named(layer: Layer, name: string): Layer {
  if (layer.descriptor.annotations?.[Annotation.LayerName] === name) return layer;
  return withDescriptor(layer, { ...layer.descriptor, annotations: { ...layer.descriptor.annotations, [Annotation.LayerName]: name } });
}
