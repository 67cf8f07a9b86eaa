import { DebianInstaller, type PinnedDeb } from '../../debian/install.js';
import { lockMatches, readSystemLock, SYSTEM_LOCK } from '../../debian/lock.js';
import type { PlannedLayer } from '../../plan/layers.js';
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

/**
 * Step 3, before the other layers, per platform: `system-packages` resolved against the base's
 * dpkg status from its signed apt indexes (src/debian), planned as the lowest layers above the
 * base, fingerprinted by the .debs' sha256. What maintainer scripts would have done is said when
 * the layer is built.
 */
export async function planSystem(run: BuildRun, base: PlatformBase): Promise<PlannedLayer[]> {
  const { spec, events } = run;
  if (!spec.systemPackages?.length) return [];
  events({ type: 'step', step: 'resolving system packages', detail: `${spec.systemPackages.join(' ')} (${base.name})` });
  const inst = installer(run);
  const system = await inst.baseSystem(base.base);
  const req = {
    packages: spec.systemPackages,
    configFile: spec.configFile,
    projectDir: spec.projectDir,
    ...(spec.aptSources ? { aptSources: spec.aptSources } : {}),
  };
  // With a lock made for this request, exactly its .debs (checked by their sha256), no index read.
  const lock = await readSystemLock(spec.projectDir);
  const locked = lock && lockMatches(lock, spec.systemPackages) ? lock.platforms.find((p) => p.platform === base.name) : undefined;
  if (lock && !locked) {
    events({
      type: 'log',
      level: 'warn',
      message:
        `${SYSTEM_LOCK} was not made for system-packages = ${JSON.stringify(spec.systemPackages)} on ${base.name}; resolving afresh ` +
        `(run \`shale lock\` to pin)`,
    });
  }
  const uris = locked ? inst.sourceUris(req, system) : [];
  let pins: PinnedDeb[];
  let had = '';
  if (locked) {
    pins = locked.packages;
  } else {
    const resolution = await inst.resolve(req, system, base.platform);
    pins = resolution.pins;
    if (resolution.alreadyInstalled.length) had = `; already in the base: ${resolution.alreadyInstalled.join(', ')}`;
  }
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
