import { InputError, ShaleError } from '../errors.js';
import { openArtifact } from '../image/open.js';
import type { OpenedArtifact } from '../image/opened.js';
import { indexPlatforms, platformEntry } from '../image/select-platform.js';
import type { Image } from '../oci/image.js';
import { platformString, type Platform } from '../oci/types.js';
import { mirrorsFor, type Mirrors } from '../ref/mirrors.js';
import { referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { BaseImage } from './assemble.js';

/**
 * Opens the base from the first host that has it, the registry's mirrors first (README,
 * "Registry mirrors"). A mirror that fails or lacks the image is skipped; the registry's own
 * error wins. Its layers then open from that host, which is also their origin for mounts.
 */
async function locate(client: RegistryClient, ref: Reference, mirrors: Mirrors): Promise<OpenedArtifact> {
  const hosts = mirrorsFor(mirrors, ref.registry);
  const name = `base image ${referenceString(ref)}`;
  const failures: { host: string; err: unknown }[] = [];
  for (const host of hosts) {
    try {
      return await openArtifact({ ...ref, registry: host }, { client, name });
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
  if (notFound) throw new InputError('SHALE_MANIFEST_UNKNOWN', `${name} was not found (${detail})`, { cause: notFound.err });
  throw new ShaleError('SHALE_BASE_UNREACHABLE', `cannot get ${name} from any of ${hosts.join(', ')} (${detail})`, { cause: last });
}

/**
 * Resolves the base image for each platform: the platform's image (from an index when the base
 * is multi-platform, only the platforms asked for are read), its manifest and config. Layers
 * are not downloaded; they open lazily from the host that served the manifest, and carry that
 * origin so a push to the same registry can mount them.
 */
export async function resolveBase(client: RegistryClient, ref: Reference, platforms: readonly Platform[], mirrors: Mirrors): Promise<BaseImage[]> {
  const name = referenceString(ref);
  const what = `base image ${name}`;
  const opened = await locate(client, ref, mirrors);
  const base = (image: Image): BaseImage => ({ name, digest: image.digest, config: image.config, layers: image.layers });
  if (opened.kind === 'index') {
    const { index } = opened;
    // Every platform is checked before any image is read, so a missing one fails at once.
    const entries = platforms.map((p) => {
      const entry = platformEntry(index.index, p);
      if (!entry)
        throw new InputError(
          'SHALE_BASE_PLATFORM',
          `${what} has no ${platformString(p)} image (it has: ${indexPlatforms(index.index).join(', ') || 'none'}); pick platforms it has, or another base`,
        );
      return entry;
    });
    return Promise.all(entries.map(async (entry) => base(await index.image(entry))));
  }
  const { config } = opened.image;
  return platforms.map((p) => {
    if (config.os !== p.os || config.architecture !== p.architecture) {
      throw new InputError(
        'SHALE_BASE_PLATFORM',
        `${what} is a single ${config.os}/${config.architecture} image, but ${platformString(p)} was asked for; pick a multi-platform base or set platforms = ["${config.os}/${config.architecture}"]`,
      );
    }
    return base(opened.image);
  });
}
