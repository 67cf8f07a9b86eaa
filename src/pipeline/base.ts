import { InputError, ShaleError } from '../errors.js';
import type { Layer } from '../oci/image.js';
import { platformMatches, platformString, isIndexMediaType, type Platform } from '../oci/types.js';
import { mirrorsFor, type Mirrors } from '../ref/mirrors.js';
import { referenceString, manifestReference, type Reference } from '../ref/reference.js';
import type { FetchedManifest, RegistryClient } from '../registry/client.js';
import { parseConfig, parseIndex, parseManifest } from '../store/oci-parse.js';
import { blobLayer } from '../store/stored-layer.js';
import type { BaseImage } from './assemble.js';

/** Where a base image was found: the host that answered (the registry or one of its mirrors). */
interface Located {
  host: string;
  top: FetchedManifest;
}

/**
 * Fetches the base's top manifest, trying the registry's mirrors first (README, "Registry
 * mirrors"). A mirror that fails or lacks the image is skipped; the registry's own error wins.
 */
async function locate(client: RegistryClient, ref: Reference, mirrors: Mirrors): Promise<Located> {
  const hosts = mirrorsFor(mirrors, ref.registry);
  const failures: { host: string; err: unknown }[] = [];
  for (const host of hosts) {
    try {
      return { host, top: await client.getManifest(host, ref.repository, manifestReference(ref)) };
    } catch (err) {
      failures.push({ host, err });
    }
  }
  const last = failures.at(-1)?.err;
  if (failures.length < 2 || last instanceof InputError) throw last;
  // The registry itself failed (say, unreachable) after a mirror answered: a mirror's "not found"
  // is the more useful answer, so report every host's.
  const notFound = failures.find((f) => f.err instanceof InputError);
  const detail = failures.map((f) => `${f.host}: ${f.err instanceof Error ? f.err.message : String(f.err)}`).join('; ');
  if (notFound) throw new InputError('SHALE_MANIFEST_UNKNOWN', `base image ${referenceString(ref)} was not found (${detail})`, { cause: notFound.err });
  throw new ShaleError('SHALE_BASE_UNREACHABLE', `cannot get base image ${referenceString(ref)} from any of ${hosts.join(', ')} (${detail})`, { cause: last });
}

/**
 * Resolves the base image for each platform: the platform's manifest (from an index when the base
 * is multi-platform) and its config. Layers are not downloaded; they open lazily from the host
 * that served the manifest, and carry that origin so a push to the same registry can mount them.
 */
export async function resolveBase(client: RegistryClient, ref: Reference, platforms: readonly Platform[], mirrors: Mirrors): Promise<BaseImage[]> {
  const name = referenceString(ref);
  const { host, top } = await locate(client, ref, mirrors);
  const what = `base image ${name}`;
  const manifests: { digest: string; bytes: Buffer; platform: Platform }[] = [];
  if (isIndexMediaType(top.mediaType)) {
    const index = parseIndex(top.bytes, what);
    for (const p of platforms) {
      const d = index.manifests.find((m) => platformMatches(m.platform, p));
      if (!d) {
        const have = index.manifests.flatMap((m) => (m.platform && m.platform.os !== 'unknown' ? [platformString(m.platform)] : []));
        throw new InputError('SHALE_BASE_PLATFORM', `${what} has no ${platformString(p)} image (it has: ${have.join(', ') || 'none'}); pick platforms it has, or another base`);
      }
      const m = await client.getManifest(host, ref.repository, d.digest);
      manifests.push({ digest: m.digest, bytes: m.bytes, platform: p });
    }
  } else {
    for (const p of platforms) manifests.push({ digest: top.digest, bytes: top.bytes, platform: p });
  }
  return Promise.all(
    manifests.map(async ({ digest, bytes, platform }) => {
      const manifest = parseManifest(bytes, what);
      const config = parseConfig(await client.getBlobBytes(host, ref.repository, manifest.config.digest), `${what} config`);
      if (!isIndexMediaType(top.mediaType) && (config.os !== platform.os || config.architecture !== platform.architecture)) {
        throw new InputError('SHALE_BASE_PLATFORM', `${what} is a single ${config.os}/${config.architecture} image, but ${platformString(platform)} was asked for; pick a multi-platform base or set platforms = ["${config.os}/${config.architecture}"]`);
      }
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw new ShaleError('SHALE_BASE_INVALID', `${what}: its config lists ${diffIds.length} layers but its manifest ${manifest.layers.length}; the base image is damaged`);
      }
      const layers: Layer[] = manifest.layers.map((d, i) => ({
        ...blobLayer(d, diffIds[i]!, 'base', () => client.getBlob(host, ref.repository, d.digest, d.size)),
        origin: { registry: host, repository: ref.repository },
      }));
      return { name, digest, config, layers };
    }),
  );
}
