import { Readable } from 'node:stream';
import { layerLabel } from '../oci/annotations.js';
import { artifactImages, type Artifact } from '../oci/image.js';
import type { Digest } from '../oci/types.js';

/** One blob an output must hold, with a way to get its bytes. */
export interface ArtifactBlob {
  digest: Digest;
  size: number;
  kind: 'layer' | 'config' | 'manifest' | 'index';
  /** For messages and events: the layer name, or "config"/"manifest"/"index". */
  name: string;
  /** Opens the bytes (compressed, for layers). */
  open(): Promise<Readable>;
}

/**
 * Every blob of an artifact, each once, in the order a careful writer stores them: layers, then
 * configs, then manifests, then the index, so whatever points at a blob is written after it
 * (go-containerregistry's push order). Layers shared by several platforms appear once.
 */
export function artifactBlobs(artifact: Artifact): ArtifactBlob[] {
  const images = artifactImages(artifact);
  const seen = new Set<Digest>();
  const out: ArtifactBlob[] = [];
  const add = (b: ArtifactBlob): void => {
    if (seen.has(b.digest)) return;
    seen.add(b.digest);
    out.push(b);
  };
  for (const img of images) {
    for (const l of img.layers) {
      add({ digest: l.descriptor.digest, size: l.descriptor.size, kind: 'layer', name: layerLabel(l.descriptor), open: () => l.open() });
    }
  }
  for (const img of images) add(bytesBlob(img.manifest.config.digest, img.configBytes, 'config'));
  for (const img of images) add(bytesBlob(img.digest, img.manifestBytes, 'manifest'));
  if (artifact.kind === 'index') add(bytesBlob(artifact.index.digest, artifact.index.indexBytes, 'index'));
  return out;
}

function bytesBlob(digest: Digest, bytes: Buffer, kind: 'config' | 'manifest' | 'index'): ArtifactBlob {
  return { digest, size: bytes.length, kind, name: kind, open: () => Promise.resolve(Readable.from([bytes])) };
}
