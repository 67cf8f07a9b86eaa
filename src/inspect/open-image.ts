import { stat } from 'node:fs/promises';
import type { Artifact } from '../oci/image.js';
import { isIndexMediaType, type Digest } from '../oci/types.js';
import { readLayout } from '../publish/layout.js';
import { readTarball } from '../publish/tarball.js';
import { manifestReference, parseReference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import type { BlobSource } from '../store/blob-source.js';
import { loadArtifact } from '../store/load-artifact.js';
import { parseIndex } from '../store/oci-parse.js';

/**
 * Opens an image named on the command line: an OCI layout directory, a tarball, or a registry
 * reference (`shale history` and `shale diff` take any of them, as crane does).
 */
export async function openImage(arg: string, client: RegistryClient): Promise<Artifact> {
  const st = await stat(arg).catch(() => undefined);
  if (st?.isDirectory()) return readLayout(arg);
  if (st?.isFile()) return readTarball(arg);
  const ref = parseReference(arg);
  const top = await client.getManifest(ref.registry, ref.repository, manifestReference(ref));
  const manifests = new Map<Digest, Buffer>([[top.digest, top.bytes]]);
  const childDigests = new Set<string>(isIndexMediaType(top.mediaType) ? parseIndex(top.bytes, arg).manifests.map((m) => m.digest) : []);
  const src: BlobSource = {
    where: arg,
    readBytes: async (d) => {
      const known = manifests.get(d);
      if (known) return known;
      if (childDigests.has(d)) return (await client.getManifest(ref.registry, ref.repository, d)).bytes;
      return client.getBlobBytes(ref.registry, ref.repository, d);
    },
    open: (d) => client.getBlob(ref.registry, ref.repository, d),
  };
  return loadArtifact(src, { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length });
}
