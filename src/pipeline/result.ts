import type { Digest } from '../oci/types.js';
import type { PlannedLayer } from '../plan/layers.js';

/**
 * Where a layer of a build came from: built now, the local cache, an earlier image in a
 * registry (by its inputs' fingerprint), or the base image.
 */
export type LayerSource = 'built' | 'cache' | 'registry' | 'base';

/** One layer of a build's result, as `--json` reports it. */
export interface LayerReport {
  name: string;
  /** What the layer holds; layers run base → users → ca-certs → packages → libs → app. */
  kind: 'base' | PlannedLayer['kind'];
  digest: Digest;
  size: number;
  source: LayerSource;
  platform: string;
  /** Why the layer was rebuilt or where it was reused from (for --explain). */
  reason: string;
}

/** What `build` returns (README, `--json`). */
export interface BuildResult {
  /** The manifest digest, or the index digest when there are several platforms. */
  digest: Digest;
  layers: LayerReport[];
  pushed: { bytes: number; blobs: number };
  seconds: number;
  /** Where the image was written: a registry reference, an OCI layout dir, a tarball. */
  outputs: string[];
  /** With --push: the reference pushed to, normalized (`host/repo:tag`); `shale deploy --from-json` reads it. */
  reference?: string;
}
