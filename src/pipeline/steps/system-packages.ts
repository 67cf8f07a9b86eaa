import { SYSTEM_LAYER, systemGroups, type SystemGroup } from '../../config/spec.js';
import type { BaseSystem } from '../../debian/base-system.js';
import { DebianInstaller, type PinnedDeb } from '../../debian/install.js';
import { lockMatches, readSystemLock, SYSTEM_LOCK } from '../../debian/lock.js';
import { platformString, type Platform } from '../../oci/types.js';
import type { PlannedLayer } from '../../plan/layers.js';
import type { BaseImage } from '../assemble.js';
import { packageHttp, type BuildRun } from '../build-run.js';
import type { PlatformBase } from './resolve-base.js';
import { systemOf, systemRequest } from '../system-request.js';

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

/** What the system packages come to on one platform's base. */
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
 * The system packages resolved against one platform's base (its dpkg status and apt sources), or
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
  const req = systemRequest(spec);
  const name = platformString(platform);
  events({ type: 'step', step: 'resolving system packages', detail: `${req.groups.flatMap((g) => g.packages).join(' ')} (${name})` });
  const inst = installer(run);
  const system = await systemOf(spec, inst, base);
  // With a lock made for this request, exactly its .debs (checked by their sha256), no index read.
  const lock = await readSystemLock(spec.projectDir);
  const locked = lock && lockMatches(lock, req.groups) ? lock.platforms.find((p) => p.platform === name) : undefined;
  if (lock && !locked) {
    events({
      type: 'log',
      level: 'warn',
      message: `${SYSTEM_LOCK} was not made for ${asWritten(req.groups)} on ${name}; resolving afresh (run \`shale lock\` to pin)`,
    });
  }
  if (locked) return { system, pins: locked.packages, uris: inst.sourceUris(req, system), locked: true, alreadyInstalled: [] };
  const resolution = await inst.resolve(req, system, platform);
  return { system, pins: resolution.pins, uris: [], locked: false, alreadyInstalled: resolution.alreadyInstalled };
}

/** The request as the config writes it: `system-packages = [...]`, and each layer's. */
const asWritten = (groups: readonly SystemGroup[]): string =>
  groups.map((g) => `${g.name === SYSTEM_LAYER ? '' : `layer "${g.name}" `}system-packages = ${JSON.stringify(g.packages)}`).join(', ');

/**
 * Step 3, before the other layers, per platform: the system packages resolved against the base's
 * dpkg status from its signed apt indexes (src/debian), planned as the lowest layers above the
 * base (the top-level `system-packages`, then each `[[layers]]` entry's), fingerprinted by the
 * .debs' sha256. What maintainer scripts would have done is said when a layer is built.
 */
export async function planSystem(run: BuildRun, base: PlatformBase): Promise<PlannedLayer[]> {
  const { spec, events } = run;
  const groups = systemGroups(spec);
  if (!groups.length) return [];
  const { system, pins, uris, locked, alreadyInstalled } = await resolveSystem(run, base.base, base.platform);
  const had = alreadyInstalled.length ? `; already installed: ${alreadyInstalled.join(', ')}` : '';
  for (const [i, g] of groups.entries()) {
    const own = pins.filter((p) => p.layer === g.name);
    events({
      type: 'log',
      level: 'info',
      message:
        `system packages (${g.name === SYSTEM_LAYER ? '' : `layer ${g.name}, `}${base.name}${locked ? `, from ${SYSTEM_LOCK}` : ''}): ` +
        `${own.map((p) => `${p.name} ${p.version}`).join(', ') || 'nothing to install'}${i === groups.length - 1 ? had : ''}`,
    });
  }
  return installer(run).planLayers(
    pins,
    system,
    run.opts.epoch,
    uris,
    groups.map((g) => g.name),
  );
}
