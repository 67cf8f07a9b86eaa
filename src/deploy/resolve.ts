import { readFile } from 'node:fs/promises';
import { InputError, wrap } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import { parseReferenceAt, referenceString, repoString } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';

/** An image pinned by digest: what a deploy points a service at, never a tag. */
export interface PinnedImage {
  /** Registry name as the user knows it (`ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  repository: string;
  /** The manifest digest, or the index digest for a multi-platform image. */
  digest: Digest;
}

/** `registry/repository@sha256:...`: the image string a cluster is given. */
export const pinnedString = (image: PinnedImage): string => `${repoString(image)}@${image.digest}`;

/**
 * Resolves a reference to the digest the registry holds for it (a HEAD of the manifest, a GET when
 * the registry sends no digest). A reference that already has a digest is checked to exist, so a
 * deploy never points a service at an image the registry does not have.
 */
export async function resolveImage(text: string, client: RegistryClient): Promise<PinnedImage> {
  const ref = parseReferenceAt('--image', text);
  const asked = ref.digest ?? ref.tag ?? 'latest';
  const found = await client.headManifest(ref.registry, ref.repository, asked).catch((err: unknown) => {
    throw wrap(`resolving ${referenceString(ref)} to a digest`, err);
  });
  if (!found) {
    throw new InputError(
      'SHALE_MANIFEST_UNKNOWN',
      `image ${referenceString(ref)} not found in registry ${ref.registry}: check the repository name and the tag or digest, or push it first (shale build --push)`,
    );
  }
  return { registry: ref.registry, repository: ref.repository, digest: ref.digest ?? found.digest };
}

/**
 * Reads the `--json` output of `shale build --push` and pins its pushed reference to its digest,
 * without asking the registry: what is deployed is exactly what that build pushed.
 */
export async function imageFromBuildJson(file: string): Promise<PinnedImage> {
  const bad = (why: string): InputError => new InputError('SHALE_BAD_BUILD_JSON', `--from-json ${file}: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(
      'SHALE_BAD_BUILD_JSON',
      `--from-json ${file}: ${err instanceof Error ? err.message : String(err)}; give the file \`shale build --push REF --json > FILE\` wrote`,
      { cause: err },
    );
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('not a JSON object');
  const { digest, reference } = parsed as { digest?: unknown; reference?: unknown };
  if (typeof digest !== 'string' || !isDigest(digest)) throw bad('has no "digest" field holding sha256:<64 hex>');
  if (typeof reference !== 'string') throw bad('has no "reference" field: it is written by `shale build --push REF --json`; was the image pushed?');
  const ref = parseReferenceAt(`--from-json ${file} (reference)`, reference);
  return { registry: ref.registry, repository: ref.repository, digest };
}
