import { isScratch } from '../../config/scratch.js';
import type { BaseSystem } from '../../debian/base-system.js';
import { DebianInstaller, type PinnedDeb } from '../../debian/install.js';
import { lockMatches, readSystemLock, SYSTEM_LOCK } from '../../debian/lock.js';
import { scratchSources, scratchSystem } from '../../debian/scratch.js';
import { platformString, type Platform } from '../../oci/types.js';
import type { PlannedLayer } from '../../plan/layers.js';
import type { BaseImage } from '../assemble.js';
import { packageHttp, type BuildRun } from '../build-run.js';
import type { PlatformBase } from './resolve-base.js';

/** One installer per run, so every platform shares the signed indexes it fetched. */
const installers = new WeakMap<BuildRun, DebianInstaller>();

function installer(run: BuildRun): DebianInstaller {
  let i = installers.get(run);
  if (!i) {
    i = new DebianInstaller({
      store: run.cache.blobs,
      records: run.cache.base,
      layerRecords: run.cache.records,
      http: packageHttp(run.opts, run.events),
      events: run.events,
      noCache: run.opts.noCache,
    });
    installers.set(run, i);
  }
  return i;
}

/** What `system-packages` come to on one platform's base. */
export interface SystemPins {
  system: BaseSystem;
  pins: PinnedDeb[];
  /** Where locked .debs are looked for first. */
  uris: string[];
  /** The pins come from the lock. */
  locked: boolean;
  /** Requested packages the base already has. */
  alreadyInstalled: string[];
}

const resolved = new WeakMap<BuildRun, Map<string, Promise<SystemPins>>>();

/**
 * `system-packages` resolved against one platform's base (its dpkg status and apt sources), or
 * taken from the lock made for them; once per run and platform. On `base = "scratch"` the base
 * is an empty system of `distribution` (src/debian/scratch.ts), so the base's own facts can be
 * read from the pins before anything else is planned.
 */
export function resolveSystem(run: BuildRun, base: Pick<BaseImage, 'name' | 'digest' | 'layers'>, platform: Platform): Promise<SystemPins> {
  let byPlatform = resolved.get(run);
  if (!byPlatform) resolved.set(run, (byPlatform = new Map()));
  const name = platformString(platform);
  let p = byPlatform.get(name);
  if (!p) {
    p = resolveOnce(run, base, platform);
    byPlatform.set(name, p);
  }
  return p;
}

async function resolveOnce(run: BuildRun, base: Pick<BaseImage, 'name' | 'digest' | 'layers'>, platform: Platform): Promise<SystemPins> {
  const { spec, events } = run;
  const packages = spec.systemPackages ?? [];
  const name = platformString(platform);
  events({ type: 'step', step: 'resolving system packages', detail: `${packages.join(' ')} (${name})` });
  const inst = installer(run);
  const scratch = isScratch(spec) && spec.distribution !== undefined;
  const system = scratch ? scratchSystem(spec.distribution!) : await inst.baseSystem(base);
  const aptSources = scratch ? scratchSources(spec.distribution!, spec.configFile, spec.aptSources) : spec.aptSources;
  const req = { packages, configFile: spec.configFile, projectDir: spec.projectDir, ...(aptSources ? { aptSources } : {}) };
  // With a lock made for this request, exactly its .debs (checked by their sha256), no index read.
  const lock = await readSystemLock(spec.projectDir);
  const locked = lock && lockMatches(lock, packages) ? lock.platforms.find((p) => p.platform === name) : undefined;
  if (lock && !locked) {
    events({
      type: 'log',
      level: 'warn',
      message: `${SYSTEM_LOCK} was not made for system-packages = ${JSON.stringify(packages)} on ${name}; resolving afresh (run \`shale lock\` to pin)`,
    });
  }
  if (locked) return { system, pins: locked.packages, uris: inst.sourceUris(req, system), locked: true, alreadyInstalled: [] };
  const resolution = await inst.resolve(req, system, platform);
  return { system, pins: resolution.pins, uris: [], locked: false, alreadyInstalled: resolution.alreadyInstalled };
}

/**
 * Step 3, before the other layers, per platform: `system-packages` resolved against the base's
 * dpkg status from its signed apt indexes (src/debian), planned as the lowest layers above the
 * base, fingerprinted by the .debs' sha256. What maintainer scripts would have done is said when
 * the layer is built.
 */
export async function planSystem(run: BuildRun, base: PlatformBase): Promise<PlannedLayer[]> {
  const { spec, events } = run;
  if (!spec.systemPackages?.length) return [];
  const { system, pins, uris, locked, alreadyInstalled } = await resolveSystem(run, base.base, base.platform);
  const inst = installer(run);
  const had = alreadyInstalled.length ? `; already in the base: ${alreadyInstalled.join(', ')}` : '';
  events({
    type: 'log',
    level: 'info',
    message:
      `system packages (${base.name}${locked ? `, from ${SYSTEM_LOCK}` : ''}): ` +
      `${pins.map((p) => `${p.name} ${p.version}`).join(', ') || 'nothing to install'}${had}`,
  });
  return inst.planLayers(pins, system, run.opts.epoch, uris).map((l) => (l.name === 'system' ? withNotes(l, inst, pins, uris, run) : l));
}

/** The layer, saying when it is built which maintainer scripts were not run and what that leaves undone. */
function withNotes(layer: PlannedLayer, inst: DebianInstaller, pins: PinnedDeb[], uris: string[], run: BuildRun): PlannedLayer {
  return {
    ...layer,
    entries: async () => {
      const entries = await layer.entries();
      const notes = await inst.notes(pins, uris);
      if (notes.length) run.events({ type: 'log', level: 'warn', message: `system packages: maintainer scripts are not run; ${notes.join('; ')}` });
      return entries;
    },
  };
}
