import type { Platform } from '../oci/types.js';
import type { Libc } from '../base/libc.js';
import type { Reference } from '../ref/reference.js';

/** One source of the app layer: a directory's contents or a file, copied to `to` in the image. */
export interface AppSource {
  /** Absolute host path. */
  from: string;
  /** Absolute image path: the target directory for a directory, the file path for a file. */
  to: string;
  kind: 'dir' | 'file';
}

/** A layer the user named in `[[tool.shale.layers]]`. */
export interface ExplicitLayer {
  name: string;
  packages?: 'all' | string[];
  /** Absolute host paths of local source packages. */
  paths?: string[];
}

/** Debian packages that go into one system layer: `system-packages`, or a `[[layers]]` entry's. */
export interface SystemGroup {
  name: string;
  packages: string[];
}

/** The layer the top-level `system-packages` go into. */
export const SYSTEM_LAYER = 'system';

/**
 * Every system layer's packages, lowest first: the top-level `system-packages` (layer "system"),
 * then each `[[layers]]` entry's `system-packages` in config order. Each layer's packages are
 * resolved over the base and the layers below it.
 */
export function systemGroups(spec: Pick<BuildSpec, 'systemPackages' | 'systemLayers'>): SystemGroup[] {
  return [...(spec.systemPackages?.length ? [{ name: SYSTEM_LAYER, packages: spec.systemPackages }] : []), ...(spec.systemLayers ?? [])];
}

/**
 * The account a container runs as (`user`), as the config gave it: a name ("appuser"), a name
 * and group ("appuser:staff", "appuser:1000"), numeric ids ("65532", "1000:1000"), or the table
 * `{ name, uid, gid, home }`. A name the base lacks is created (src/base/accounts.ts).
 */
export interface UserSpec {
  /** The key as written, for messages: `user = "appuser"`. */
  written: string;
  name?: string;
  uid?: number;
  gid?: number;
  /** A group by name ("appuser:staff"): it must exist in the base. */
  group?: string;
  home?: string;
}

/** Everything a build needs to know, validated and resolved against the project directory. */
export interface BuildSpec {
  projectDir: string;
  configFile: string;
  name: string;
  domain?: string;
  /** Repository the image is named by: "<domain>-<name>", or "<name>" without a domain. */
  repository: string;
  base: string;
  /** `python` in the config ("3.11"): checked against the base's own Python, which is read from it either way. */
  python?: string;
  /** The base's C library from `libc` in the config; detected from the base image when absent. */
  libc?: Libc;
  platforms: Platform[];
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  ports: number[];
  /** The image config's `User`: the name (or ids) as written, "" for the base's. */
  user: string;
  /** `user` parsed, when set: what the `users` layer creates or looks up. */
  account?: UserSpec;
  /** `writable`: absolute image directories created owned by the user (with everything shale puts under them). */
  writable?: string[];
  labels: Record<string, string>;
  /**
   * Absolute path of the lock or requirements file: `lock` in the config, else the first of
   * pylock.toml, uv.lock, poetry.lock, requirements.txt found; undefined when there is none
   * (then pyproject's `[project].dependencies`, if any, are resolved).
   */
  lock?: string;
  /** `extras`: optional-dependencies to install with the project's own dependencies. */
  extras: string[];
  /** `groups`: PEP 735 dependency groups (or the lock's groups) to install too. */
  groups: string[];
  /** `index-url` when the config sets it; otherwise the lock, the environment or PyPI decide. */
  indexUrl?: string;
  extraIndexUrls?: string[];
  findLinks: string[];
  noIndex: boolean;
  app: AppSource[];
  exclude: string[];
  layers?: ExplicitLayer[];
  /** `max-layers`: the most layers the image may have, the base's included (default 60). */
  maxLayers?: number;
  /** `compile-bytecode`: ship .pyc files for third-party packages, compiled by a host Python of the image's X.Y. */
  compileBytecode?: boolean;
  /** `ca-certs`: add a `ca-certs` layer with the build host's CA bundle (and SSL_CERT_FILE in env). */
  caCerts?: boolean;
  /** `registry-cache`: the layer cache pushes read and update (a tag), or false ("off"); default the push repository's `shale-cache` tag. */
  registryCache?: Reference | false;
  /** `system-packages`: Debian packages installed from the base's apt sources into a system layer (src/debian). */
  systemPackages?: string[];
  /** `[[layers]]` entries with `system-packages`: more system layers, above the `system` one, in config order. */
  systemLayers?: SystemGroup[];
  /** `distribution` ("debian:bookworm"): with `base = "scratch"`, the release the base is made of from `system-packages` alone. */
  distribution?: string;
  /** `apt-sources`: sources.list lines used instead of the base's sources (signed-by paths relative to the project). */
  aptSources?: string[];
}
