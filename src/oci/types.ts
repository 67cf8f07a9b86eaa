/**
 * The OCI image model (image-spec v1.1) as plain data. No I/O lives here. Values read from JSON
 * (oci/parse.ts) also carry the fields this model does not name, unchanged, so an image built
 * on top of one, or an index.json written back, keeps them.
 */

export type Digest = `sha256:${string}`;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  /** Where a foreign layer can be downloaded from (kept as the base had it). */
  urls?: string[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  author?: string;
}

/**
 * How a container of the image runs (the config's `config`). Docker writes `null` for some
 * empty fields; those are kept as they are, so an image built on top has the same digest
 * whoever reads its base.
 */
export interface ContainerConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object> | null;
  Labels?: Record<string, string> | null;
  [key: string]: unknown;
}

/** The image configuration (application/vnd.oci.image.config.v1+json). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export const isIndexMediaType = (m: string): boolean => m === MediaType.OciIndex || m === MediaType.DockerManifestList;

export const isManifestMediaType = (m: string): boolean => m === MediaType.OciManifest || m === MediaType.DockerManifest;

export const platformString = (p: Platform): string => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** Parses "linux/arm64/v8" into a Platform. Returns undefined for malformed input. */
export function parsePlatform(s: string): Platform | undefined {
  const parts = s.trim().split('/');
  const [os, architecture, variant] = parts;
  if (!os || !architecture || parts.length > 3) return undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Whether a descriptor's platform satisfies the wanted one (arm64 with no variant matches v8). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  const norm = (p: Platform) => p.variant ?? (p.architecture === 'arm64' ? 'v8' : '');
  return norm(have) === norm(want);
}
