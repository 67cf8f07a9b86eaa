import type { Events } from '../events.js';
import { ShaleError } from '../errors.js';
import { openArtifact } from '../image/open.js';
import { loadArtifact } from '../image/opened.js';
import { Annotation, BASE_FACT_PREFIX } from '../oci/annotations.js';
import { artifactDigest, artifactImages, type Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { TargetImage } from '../publish/publisher.js';

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
}

/** The earlier images a build reads: the push targets, then any --cache-from images. */
export interface EarlierImages {
  targets: readonly Reference[];
  cacheFrom: readonly Reference[];
}

/**
 * Reads the layers of earlier images (the push targets and any --cache-from) that shale made,
 * keyed by their `dev.shale.layer.inputs` fingerprint. Only manifests and configs are fetched
 * (a few kB); an image that does not exist yet is simply no cache. For a push target, other
 * failures (refused credentials, an unreachable registry) end the build before any work, since
 * the push would fail the same way; for --cache-from images they are warnings, as that cache
 * only ever saves work.
 */
export async function registryLayers(client: RegistryClient, earlier: EarlierImages, events: Events): Promise<RemoteLayers> {
  const found = new RemoteLayers();
  const refs = [...earlier.targets, ...earlier.cacheFrom];
  await Promise.all(
    refs.map(async (ref, i) => {
      const name = referenceString(ref);
      const isTarget = i < earlier.targets.length;
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
            if (fp && !found.has(fp)) found.set(fp, { layer, from: name });
          }
        }
      } catch (err) {
        // Nothing at the reference yet (a first push), or an index entry gone: no cache.
        if (err instanceof ShaleError && err.code === 'SHALE_MANIFEST_UNKNOWN') return;
        if (isTarget) throw err;
        events({ type: 'log', level: 'warn', message: `cannot read ${name} to reuse its layers (building them instead): ${err instanceof Error ? err.message : String(err)}` });
      }
    }),
  );
  return found;
}

/** What an earlier image recorded about its base, kept by the base's digest (the first image to say wins). */
function recordBaseFacts(found: RemoteLayers, annotations: Readonly<Record<string, string>>): void {
  const baseDigest = annotations[Annotation.BaseDigest];
  if (!baseDigest) return;
  const facts = Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(BASE_FACT_PREFIX)));
  if (Object.keys(facts).length && !found.baseFacts.has(baseDigest)) found.baseFacts.set(baseDigest, facts);
}
