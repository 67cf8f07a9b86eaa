import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { BlobPusher } from '../image/blob-pusher.js';
import { Annotation, BASE_FACT_PREFIX } from '../oci/annotations.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { isDigest } from '../oci/digest.js';
import { artifactImages, lazyLayer, type Artifact, type Layer } from '../oci/image.js';
import { MediaType, type Descriptor, type Digest } from '../oci/types.js';
import { referenceString, type Reference } from '../ref/reference.js';
import { LAYER_CACHE_TAG } from './layer-cache-setting.js';
import type { RegistryClient } from '../registry/client.js';

/**
 * The repository's layer cache (README, "What shale writes to the registry"): one small OCI
 * manifest at a well-known tag (`REPO:shale-cache` by default) whose `layers` are descriptors of
 * the layers recent shale pushes made, newest first, each with its input fingerprint, its diff ID
 * and the image it was pushed with. A build reads it (a few kB) to reuse those layers whatever
 * tag it pushes to; a push merges its own layers in front and writes it back. The registry keeps
 * every blob a manifest names, so each layer it lists stays in the repository.
 *
 * Writers do read-merge-write with no lock: two pushes at once each write a valid manifest, and
 * the later one may drop the other's new entries (they are simply rebuilt or found again later).
 */
export { LAYER_CACHE_TAG, parseLayerCacheSetting } from './layer-cache-setting.js';
/** The artifactType of the cache manifest: what tells it apart from an image someone else tagged there. */
export const LAYER_CACHE_TYPE = 'application/vnd.dev.shale.layer-cache.v1';
/** The most layers the cache lists (about 500 bytes each: the manifest stays under ~50 kB). */
export const LAYER_CACHE_MAX_ENTRIES = 100;
/** The most bases whose facts it keeps. */
export const LAYER_CACHE_MAX_BASES = 16;

/** The OCI empty descriptor (image-spec 1.1, "Guidance for an empty descriptor"): the blob `{}`. */
const EMPTY_JSON = Buffer.from('{}');
const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' as Digest,
  size: 2,
};

/** One layer the cache lists. */
export interface LayerCacheEntry {
  /** The layer's descriptor as images carry it: media type, digest, size, name and fingerprint annotations. */
  descriptor: Descriptor;
  fingerprint: string;
  diffId: Digest;
  /** The reference of the image the layer was pushed with. */
  image: string;
}

/** What a cache manifest holds. */
export interface LayerCacheContents {
  entries: LayerCacheEntry[];
  /** Base manifest digest → its `dev.shale.base.*` facts, newest first. */
  bases: Map<string, Record<string, string>>;
  /** Entries left out because they were damaged. */
  damaged: number;
}

/** The default cache of a push target: the same repository, tag `shale-cache`. */
export const defaultLayerCache = (target: Reference): Reference => ({ registry: target.registry, repository: target.repository, tag: LAYER_CACHE_TAG });

/**
 * Reads the cache manifest at `ref`: undefined when there is none. A manifest that is not a
 * shale layer cache (another artifact or image under that tag) is `SHALE_LAYER_CACHE_FOREIGN`;
 * damaged entries are left out and counted.
 */
export async function readLayerCache(client: RegistryClient, ref: Reference): Promise<LayerCacheContents | undefined> {
  const tag = ref.tag ?? LAYER_CACHE_TAG;
  let bytes: Buffer;
  try {
    bytes = (await client.getManifest(ref.registry, ref.repository, tag, [MediaType.OciManifest])).bytes;
  } catch (err) {
    if (err instanceof ShaleError && err.code === 'SHALE_MANIFEST_UNKNOWN') return undefined;
    throw err;
  }
  return parseLayerCache(bytes, referenceString(ref));
}

/** Parses cache manifest bytes (see readLayerCache). */
export function parseLayerCache(bytes: Buffer, name: string): LayerCacheContents {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw foreign(name, 'it is not JSON');
  }
  if (!isObject(doc) || doc.artifactType !== LAYER_CACHE_TYPE || !Array.isArray(doc.layers)) {
    throw foreign(name, `it is not a shale layer cache (artifactType ${isObject(doc) && typeof doc.artifactType === 'string' ? doc.artifactType : 'missing'})`);
  }
  const out: LayerCacheContents = { entries: [], bases: new Map(), damaged: 0 };
  const seen = new Set<string>();
  for (const d of doc.layers as unknown[]) {
    const entry = entryOf(d);
    if (!entry) out.damaged++;
    else if (!seen.has(entry.fingerprint)) {
      seen.add(entry.fingerprint);
      out.entries.push(entry);
    }
  }
  const bases = isObject(doc.annotations) ? doc.annotations[Annotation.CacheBases] : undefined;
  if (typeof bases === 'string') {
    try {
      const parsed: unknown = JSON.parse(bases);
      if (isObject(parsed)) {
        for (const [digest, facts] of Object.entries(parsed)) {
          if (isDigest(digest) && isObject(facts) && Object.entries(facts).every(([k, v]) => k.startsWith(BASE_FACT_PREFIX) && typeof v === 'string')) {
            out.bases.set(digest, facts as Record<string, string>);
          } else out.damaged++;
        }
      }
    } catch {
      out.damaged++;
    }
  }
  return out;
}

/** A cache entry from one descriptor of the manifest, or undefined when it is damaged. */
function entryOf(d: unknown): LayerCacheEntry | undefined {
  if (!isObject(d) || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isDigest(d.digest)) return undefined;
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0 || !isObject(d.annotations)) return undefined;
  const a = d.annotations;
  const fp = a[Annotation.LayerInputs];
  const diffId = a[Annotation.CacheDiffId];
  const image = a[Annotation.CacheImage];
  if (typeof fp !== 'string' || fp === '' || typeof diffId !== 'string' || !isDigest(diffId)) return undefined;
  const annotations: Record<string, string> = { [Annotation.LayerInputs]: fp };
  const layerName = a[Annotation.LayerName];
  if (typeof layerName === 'string') annotations[Annotation.LayerName] = layerName;
  return {
    descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size, annotations },
    fingerprint: fp,
    diffId,
    image: typeof image === 'string' ? image : '',
  };
}

/** A cache entry as a Layer: lazy, opening from the cache's repository, which is also its origin for mounts. */
export function cachedRegistryLayer(client: RegistryClient, ref: Reference, entry: LayerCacheEntry): Layer {
  const { registry, repository } = ref;
  const d = entry.descriptor;
  return lazyLayer(d, entry.diffId, () => client.getBlob(registry, repository, d.digest, d.size), { registry, repository });
}

/** What `updateLayerCache` did. */
export type LayerCacheUpdate = 'written' | 'unchanged' | 'foreign';

/**
 * Merges the shale layers of a pushed artifact into the cache at `cache` (read afresh now):
 * this push's layers first, then the earlier entries without them, at most `maxEntries`. The
 * cache manifest is written only when that changes it. When the cache is in another repository
 * than `pushedTo`, its layers are mounted there from `pushedTo` (same registry) or uploaded. A
 * tag that holds something that is not a shale layer cache is left alone ('foreign').
 */
export async function updateLayerCache(
  client: RegistryClient,
  cache: Reference,
  pushedTo: Reference,
  artifact: Artifact,
  options: { maxEntries?: number; events?: Events } = {},
): Promise<LayerCacheUpdate> {
  const name = referenceString(cache);
  let earlier: LayerCacheContents | undefined;
  try {
    earlier = await readLayerCache(client, cache);
  } catch (err) {
    if (err instanceof ShaleError && err.code === 'SHALE_LAYER_CACHE_FOREIGN') {
      // Not JSON at all cannot be anyone's image: it is rewritten. A real manifest of another kind is kept.
      if (/is not JSON/.test(err.message)) earlier = undefined;
      else return 'foreign';
    } else throw err;
  }
  const image = referenceString(pushedTo);
  const fresh: { layer: Layer; entry: LayerCacheEntry }[] = [];
  const bases = new Map<string, Record<string, string>>();
  for (const img of artifactImages(artifact)) {
    const ann = img.manifest.annotations ?? {};
    const baseDigest = ann[Annotation.BaseDigest];
    const facts = Object.fromEntries(Object.entries(ann).filter(([k]) => k.startsWith(BASE_FACT_PREFIX)));
    if (baseDigest && Object.keys(facts).length && !bases.has(baseDigest)) bases.set(baseDigest, facts);
    // Top layer first: the newest entries lead the list.
    for (const layer of [...img.layers].reverse()) {
      const fp = layer.descriptor.annotations?.[Annotation.LayerInputs];
      if (!fp || fresh.some((f) => f.entry.fingerprint === fp)) continue;
      const annotations: Record<string, string> = { [Annotation.LayerInputs]: fp };
      const layerName = layer.descriptor.annotations?.[Annotation.LayerName];
      if (layerName !== undefined) annotations[Annotation.LayerName] = layerName;
      const { mediaType, digest, size } = layer.descriptor;
      fresh.push({ layer, entry: { descriptor: { mediaType, digest, size, annotations }, fingerprint: fp, diffId: layer.diffId, image } });
    }
  }
  // A layer listed already keeps the image that first pushed it (what --explain names).
  const firstPushed = new Map((earlier?.entries ?? []).map((e) => [e.fingerprint, e.image]));
  for (const f of fresh) f.entry.image = firstPushed.get(f.entry.fingerprint) ?? f.entry.image;
  const max = options.maxEntries ?? LAYER_CACHE_MAX_ENTRIES;
  const taken = new Set(fresh.map((f) => f.entry.fingerprint));
  const entries = [...fresh.map((f) => f.entry), ...(earlier?.entries ?? []).filter((e) => !taken.has(e.fingerprint))].slice(0, max);
  for (const [d, facts] of earlier?.bases ?? []) if (!bases.has(d)) bases.set(d, facts);
  const bytes = cacheManifestBytes(entries, [...bases].slice(0, LAYER_CACHE_MAX_BASES));
  if (earlier && !earlier.damaged && bytes.equals(cacheManifestBytes(earlier.entries, [...earlier.bases]))) return 'unchanged';

  // Every blob the manifest names must be in the cache's repository before it is put.
  const sameRepo = cache.registry === pushedTo.registry && cache.repository === pushedTo.repository;
  const pusher = new BlobPusher(client, cache, noEvents);
  const blobs: Promise<void>[] = [];
  if (!earlier) blobs.push(pusher.bytes(EMPTY_CONFIG.digest, EMPTY_JSON, 'layer cache config'));
  if (!sameRepo) {
    const origin = { registry: pushedTo.registry, repository: pushedTo.repository };
    for (const { layer } of fresh) blobs.push(pusher.layer(lazyLayer(layer.descriptor, layer.diffId, () => layer.open(), origin)));
  }
  const failed = (await Promise.allSettled(blobs)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  await client.putManifest(cache.registry, cache.repository, cache.tag ?? LAYER_CACHE_TAG, bytes, MediaType.OciManifest);
  options.events?.({ type: 'log', level: 'debug', message: `recorded ${fresh.length} layer(s) in the layer cache ${name} (${entries.length} listed)` });
  return 'written';
}

/** The cache manifest for these entries and base facts, canonical JSON. */
function cacheManifestBytes(entries: readonly LayerCacheEntry[], bases: readonly [string, Record<string, string>][]): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: LAYER_CACHE_TYPE,
    config: EMPTY_CONFIG,
    layers: entries.map((e) => ({
      ...e.descriptor,
      annotations: { ...e.descriptor.annotations, [Annotation.CacheDiffId]: e.diffId, ...(e.image ? { [Annotation.CacheImage]: e.image } : {}) },
    })),
    ...(bases.length ? { annotations: { [Annotation.CacheBases]: JSON.stringify(Object.fromEntries(bases)) } } : {}),
  };
  return canonicalBytes(manifest);
}

function foreign(name: string, why: string): ShaleError {
  return new ShaleError('SHALE_LAYER_CACHE_FOREIGN', `${name} is not usable as a layer cache: ${why}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
