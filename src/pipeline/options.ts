import type { Platform } from '../oci/types.js';
import type { Mirrors } from '../ref/mirrors.js';

/** How to run one build: outputs, caches and network settings (the CLI's flags). */
export interface BuildOptions {
  /** Overrides the config's platforms. */
  platforms?: Platform[];
  /** Registry reference to push to. */
  push?: string;
  /** OCI layout directory to write. */
  oci?: string;
  /** docker-archive tarball to write. */
  tar?: string;
  /** Earlier images whose layers may be reused by fingerprint (besides the push target). */
  cacheFrom: string[];
  cacheDir: string;
  noCache: boolean;
  insecureRegistries: string[];
  /** Extra CA certificates (PEM files) trusted for registries (`--registry-ca`). */
  registryCa?: string[];
  /** Cancels registry work (Ctrl-C). */
  signal?: AbortSignal;
  /** SOURCE_DATE_EPOCH: the time written into layers and configs. */
  epoch: number;
  /** Registry mirrors for pulls: registry → mirror hosts. */
  mirrors: Mirrors;
}
