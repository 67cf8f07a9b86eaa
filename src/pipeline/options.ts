import type { Platform } from '../oci/types.js';
import type { Publisher } from '../publish/publisher.js';
import type { Mirrors } from '../ref/mirrors.js';
import type { Reference } from '../ref/reference.js';

/** How to run one build: where the image goes, caches and network settings (already parsed). */
export interface BuildOptions {
  /** Overrides the config's platforms. */
  platforms?: Platform[];
  /**
   * Where the image goes, published in this order (src/publish: registry, OCI layout, tarball).
   * None: the image is built and its digest reported, but written nowhere.
   */
  publishers: Publisher[];
  /** Earlier images whose layers may be reused by fingerprint (besides the registry publishers' tags). */
  cacheFrom: Reference[];
  cacheDir: string;
  /** Ignores the local cache and every earlier image: every layer is built. */
  noCache: boolean;
  insecureRegistries: string[];
  /** Extra CA certificates (PEM files) trusted for registries (`--registry-ca`). */
  registryCa?: string[];
  /** How long each registry operation keeps retrying temporary failures (`--retry-budget`); default `$SHALE_RETRY_BUDGET`, else 60 s. */
  retryBudgetMs?: number;
  /** Cancels registry work (Ctrl-C). */
  signal?: AbortSignal;
  /** SOURCE_DATE_EPOCH: the time written into layers and configs. */
  epoch: number;
  /** Registry mirrors for pulls: registry → mirror hosts. */
  mirrors: Mirrors;
}
