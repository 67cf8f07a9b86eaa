import type { Events, ShaleEvent } from '../events.js';
import { ShaleError } from '../errors.js';
import { openArtifact } from '../image/open.js';
import { loadArtifact } from '../image/opened.js';
import { Annotation, BASE_FACT_PREFIX } from '../oci/annotations.js';
import { artifactDigest, artifactImages, type Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { referenceString, repoString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { TargetImage } from '../publish/publisher.js';
import { cachedRegistryLayer, readLayerCache } from '../publish/layer-cache.js';

/**
 * A layer an image in a registry already has, found by the fingerprint of its inputs: lazy, and
 * with its repository as origin, so it is reused without building, downloading or uploading it.
 */
export interface RemoteLayer {
  layer: Layer;
  /** The reference it was found through, for --explain. */
  from: string;
}

/**
 * Layers of earlier images by fingerprint, plus what those images recorded about their bases,
 * so the build needs no base layer for it: base manifest digest → its `dev.shale.base.*`
 * annotations.
 */
export class RemoteLayers extends Map<string, RemoteLayer> {
  readonly baseFacts = new Map<string, Record<string, string>>();
  /** What each push target's tag names now (by normalized reference): its digest and every blob its manifests reference. */
  readonly current = new Map<string, TargetImage>();
  /** Blobs each repository (`registry/repository`) is known to hold because its layer cache lists them. */
  readonly held = new Map<string, Set<Digest>>();
}

/** The earlier images a build reads: the push targets, their layer caches, then any --cache-from images. */
export interface EarlierImages {
  targets: readonly Reference[];
  /** Layer cache manifests (src/publish/layer-cache.ts): recent layers of a repository, whatever their tag. */
  caches?: readonly Reference[];
  cacheFrom: readonly Reference[];
}

/**
 * Reads the layers of earlier images (the push targets and any --cache-from) that shale made,
 * keyed by their `dev.shale.layer.inputs` fingerprint. Only manifests and configs are fetched
 * (a few kB); an image that does not exist yet is simply no cache. For a push target, other
 * failures (refused credentials, an unreachable registry) end the build before any work, since
 * the push would fail the same way; for --cache-from images they are warnings, as that cache
 * only ever saves work. A layer cache is read the same way (a few kB: one manifest); whatever
 * goes wrong with it is a warning. When several sources have a fingerprint, the first in that
 * order wins: the target's tag, its layer cache, then --cache-from.
 */
export async function registryLayers(client: RegistryClient, earlier: EarlierImages, events: Events): Promise<RemoteLayers> {
  const found = new RemoteLayers();
  const caches = earlier.caches ?? [];
  const refs = [...earlier.targets, ...earlier.cacheFrom];
  // Each source fills its own map; they are merged in order once all are read.
  const bySource: Map<string, RemoteLayer>[] = refs.map(() => new Map());
  const byCache: Map<string, RemoteLayer>[] = caches.map(() => new Map());
  // The caches' warnings wait until every source is read: when a target's read ends the build
  // (refused credentials, say), a warning about its cache tag would only say the same thing twice.
  const cacheWarnings: ShaleEvent[] = [];
  await Promise.all([
    ...caches.map((ref, i) => readCache(client, ref, found, byCache[i]!, (e) => void cacheWarnings.push(e))),
    ...refs.map(async (ref, i) => {
      const name = referenceString(ref);
      const isTarget = i < earlier.targets.length;
      const layers = bySource[i]!;
      try {
        const artifact = await loadArtifact(await openArtifact(ref, { client, name }));
        const blobs = new Set<Digest>();
        if (isTarget) found.current.set(name, { digest: artifactDigest(artifact), blobs });
        for (const image of artifactImages(artifact)) {
          blobs.add(image.manifest.config.digest);
          for (const l of image.layers) blobs.add(l.descriptor.digest);
          recordBaseFacts(found, image.manifest.annotations ?? {});
          for (const layer of image.layers) {
            const fp = layer.descriptor.annotations?.[Annotation.LayerInputs];
            if (fp && !layers.has(fp)) layers.set(fp, { layer, from: name });
          }
        }
      } catch (err) {
        // Nothing at the reference yet (a first push), or an index entry gone: no cache.
        if (err instanceof ShaleError && err.code === 'SHALE_MANIFEST_UNKNOWN') return;
        if (isTarget) throw err;
        events({
          type: 'log',
          level: 'warn',
          message: `cannot read ${name} to reuse its layers (building them instead): ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    }),
  ]);
  for (const e of cacheWarnings) events(e);
  const ordered = [...bySource.slice(0, earlier.targets.length), ...byCache, ...bySource.slice(earlier.targets.length)];
  for (const layers of ordered) for (const [fp, l] of layers) if (!found.has(fp)) found.set(fp, l);
  return found;
}

/**
 * Reads one layer cache into `layers` (and its base facts into `found`). Nothing there is no
 * cache; anything else that goes wrong (a foreign or damaged manifest, refused credentials, an
 * unreachable registry) is a warning: the cache only ever saves work.
 */
async function readCache(client: RegistryClient, ref: Reference, found: RemoteLayers, layers: Map<string, RemoteLayer>, events: Events): Promise<void> {
  const name = referenceString(ref);
  try {
    const cache = await readLayerCache(client, ref);
    if (!cache) return;
    if (cache.damaged) {
      const entries = `${cache.damaged} damaged entr${cache.damaged === 1 ? 'y' : 'ies'}`;
      events({ type: 'log', level: 'warn', message: `the layer cache ${name} has ${entries}, left out (the next push rewrites it)` });
    }
    for (const [digest, facts] of cache.bases) if (!found.baseFacts.has(digest)) found.baseFacts.set(digest, facts);
    const held = found.held.get(repoString(ref)) ?? new Set<Digest>();
    found.held.set(repoString(ref), held);
    for (const entry of cache.entries) held.add(entry.descriptor.digest);
    for (const entry of cache.entries) {
      if (layers.has(entry.fingerprint)) continue;
      layers.set(entry.fingerprint, { layer: cachedRegistryLayer(client, ref, entry), from: entry.image ? `${name}, pushed with ${entry.image}` : name });
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    events({ type: 'log', level: 'warn', message: `cannot use the layer cache ${name} (building what it would have saved instead): ${why}` });
  }
}

/** What an earlier image recorded about its base, kept by the base's digest (the first image to say wins). */
function recordBaseFacts(found: RemoteLayers, annotations: Readonly<Record<string, string>>): void {
  const baseDigest = annotations[Annotation.BaseDigest];
  if (!baseDigest) return;
  const facts = Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(BASE_FACT_PREFIX)));
  if (Object.keys(facts).length && !found.baseFacts.has(baseDigest)) found.baseFacts.set(baseDigest, facts);
}
