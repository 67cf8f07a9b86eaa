import type { Events } from '../events.js';
import { InputError } from '../errors.js';
import { Annotation, isIndexMediaType, type Descriptor, type Digest } from '../oci/types.js';
import { manifestReference, referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { TargetImage } from '../publish/publisher.js';
import { parseConfig, parseIndex, parseManifest } from '../store/oci-parse.js';
import { BASE_LIBC_ANNOTATION } from './base-libc.js';

/** A layer an image in a registry already has, found by the fingerprint of its inputs. */
export interface RemoteLayer {
  descriptor: Descriptor;
  diffId: Digest;
  registry: string;
  repository: string;
  /** The reference it was found through, for --explain. */
  from: string;
}

/**
 * Layers of earlier images by fingerprint, plus what those images recorded about their bases:
 * base manifest digest → C library (`dev.shale.base.libc`), so wheel choice needs no base layer.
 */
export class RemoteLayers extends Map<string, RemoteLayer> {
  readonly baseLibc = new Map<string, string>();
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
        const top = await client.getManifest(ref.registry, ref.repository, manifestReference(ref));
        const manifests = isIndexMediaType(top.mediaType)
          ? await Promise.all(parseIndex(top.bytes, name).manifests.map(async (d) => (await client.getManifest(ref.registry, ref.repository, d.digest)).bytes))
          : [top.bytes];
        const blobs = new Set<Digest>();
        if (isTarget) found.current.set(name, { digest: top.digest, blobs });
        for (const bytes of manifests) {
          const manifest = parseManifest(bytes, name);
          blobs.add(manifest.config.digest);
          for (const l of manifest.layers) blobs.add(l.digest);
          const baseDigest = manifest.annotations?.[Annotation.BaseDigest];
          const libc = manifest.annotations?.[BASE_LIBC_ANNOTATION];
          if (baseDigest && libc && !found.baseLibc.has(baseDigest)) found.baseLibc.set(baseDigest, libc);
          if (!manifest.layers.some((l) => l.annotations?.[Annotation.LayerInputs])) continue;
          const config = parseConfig(await client.getBlobBytes(ref.registry, ref.repository, manifest.config.digest), `${name} config`);
          manifest.layers.forEach((d, i) => {
            const fp = d.annotations?.[Annotation.LayerInputs];
            const diffId = config.rootfs.diff_ids[i];
            if (fp && diffId && !found.has(fp)) found.set(fp, { descriptor: d, diffId, registry: ref.registry, repository: ref.repository, from: name });
          });
        }
      } catch (err) {
        if (err instanceof InputError && err.code === 'SHALE_MANIFEST_UNKNOWN') return;
        if (isTarget) throw err;
        events({ type: 'log', level: 'warn', message: `cannot read ${name} to reuse its layers (building them instead): ${err instanceof Error ? err.message : String(err)}` });
      }
    }),
  );
  return found;
}
