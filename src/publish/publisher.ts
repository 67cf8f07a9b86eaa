import type { Events } from '../events.js';
import type { Artifact, Layer } from '../oci/image.js';
import type { Digest } from '../oci/types.js';
import type { Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';

/**
 * Somewhere a built image goes: a registry, an OCI layout, a tarball, or several of them
 * (`MultiPublisher`). The build hands every publisher the same artifact; a publisher opens a
 * layer's bytes only when its target lacks the blob.
 *
 * One build run calls, in this order: `start` (once), `layer` (as each layer exists, base
 * layers included), `publish` (once, with the finished artifact). A publisher may be given to
 * several runs (validate builds twice; a build retries after a corrupt cache blob): `start`
 * begins afresh each time.
 */
export interface Publisher {
  /** Where it publishes, as the build's `outputs` report it: a registry reference, a directory, a file. */
  readonly target: string;
  /**
   * Registry references whose current image the build reads before it makes anything: that
   * image's layers are reused by their input fingerprint, and what its tag names now comes back
   * through `start`. Only registry publishers have any.
   */
  readonly previous?: readonly Reference[];
  /**
   * Layer caches (src/publish/layer-cache.ts) the build reads before it makes anything: the
   * layers they list are reused by their input fingerprint whatever tag the image goes to. The
   * publisher records its pushed layers there. Only registry publishers have any.
   */
  readonly layerCaches?: readonly Reference[];
  /** Begins one build run: the build's registry client and what it found at `previous`. */
  start?(session: PublishSession): void;
  /**
   * Told as each layer of the artifact exists, so a registry can upload it while the rest are
   * built. Returns at once; a failure surfaces in `publish`.
   */
  layer?(layer: Layer): void;
  /** Puts the artifact at the target, and says what that took. */
  publish(artifact: Artifact, events: Events): Promise<PublishReport>;
}

/** What a build tells its publishers before handing them anything (`Publisher.start`). */
export interface PublishSession {
  /**
   * The build's registry client: one client for the pulls, the read of the target and the push,
   * so connections and tokens are shared.
   */
  client: RegistryClient;
  events: Events;
  /**
   * What a `previous` reference's tag names now, as the build read it (undefined: nothing there,
   * or the build did not look because it ignores caches).
   */
  current(ref: Reference): TargetImage | undefined;
  /**
   * Blobs a repository is known to hold besides those of `current` (the layers its layer cache
   * lists: a manifest references them), so a push to it needs no HEAD for them. Optional.
   */
  held?(ref: Reference): ReadonlySet<Digest> | undefined;
}

/** The image a registry tag names before a push: its digest and every blob its manifests reference. */
export interface TargetImage {
  digest: Digest;
  blobs: ReadonlySet<Digest>;
}

/** What publishing did (README, `--json`: `outputs`, `pushed`, `reference`). */
export interface PublishReport {
  /** Every target written, in order: registry references, layout directories, tarballs. */
  outputs: string[];
  /** Bytes and blobs actually sent to registries (what they already held is not counted). */
  pushed: { bytes: number; blobs: number };
  /** The registry reference pushed to, normalized (`host/repo:tag`); `shale deploy --from-json` reads it. */
  reference?: string;
}

/** A report of one target that sent nothing over the network (a file or a directory). */
export const wroteTo = (target: string): PublishReport => ({ outputs: [target], pushed: { bytes: 0, blobs: 0 } });
