import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { canonicalBytes } from '../oci/canonical-json.js';
import { sha256 } from '../oci/digest.js';
import { lazyLayer, type Image } from '../oci/image.js';
import { OciParseError, parseConfig } from '../oci/parse.js';
import { MediaType, type Descriptor, type Manifest } from '../oci/types.js';
import { readAll } from './blob-source.js';
import { openTarFile, type TarFile } from './tar-read.js';

/** One image in Docker's manifest.json. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/**
 * An image from a docker-archive's manifest.json (what `docker save` wrote before it also wrote
 * OCI), with an OCI manifest made up for it, since such an archive has none. `ref` picks an
 * image by one of its RepoTags. Layers stay in the archive until opened.
 */
export async function dockerArchiveImage(archive: string, files: Map<string, TarFile>, manifestFile: TarFile, ref: string | undefined): Promise<Image> {
  const get = (name: string): TarFile => {
    const f = files.get(name.replace(/^(\.\/)+/, ''));
    if (!f) throw new OciParseError(`manifest.json in ${archive} names ${name}, which is not in the archive.`);
    return f;
  };
  const bytesOf = async (f: TarFile): Promise<Buffer> => f.bytes ?? readAll(openTarFile(archive, f));
  const entries = parseDockerManifest(await bytesOf(manifestFile), archive);
  const tags = entries.flatMap((e) => e.RepoTags).join(', ') || 'untagged images';
  const entry = ref === undefined ? entries[0] : entries.find((e) => e.RepoTags.includes(ref));
  if (!entry) throw new InputError('SHALE_REF_NOT_FOUND', `${archive} has no image "${ref ?? ''}"; it has: ${tags}.`);
  if (ref === undefined && new Set(entries.map((e) => e.Config)).size > 1) {
    throw new InputError('SHALE_AMBIGUOUS_REF', `${archive} holds ${entries.length} images (${tags}); name the one you mean.`);
  }
  const configFile = get(entry.Config);
  const configBytes = await bytesOf(configFile);
  const config = parseConfig(configBytes, `config ${entry.Config} in ${archive}`);
  const layerFiles = entry.Layers.map(get);
  if (layerFiles.length !== config.rootfs.diff_ids.length) {
    throw new OciParseError(`manifest.json in ${archive} lists ${layerFiles.length} layers but the config has ${config.rootfs.diff_ids.length} diff_ids.`);
  }
  const layerDescs: Descriptor[] = await Promise.all(
    layerFiles.map(async (f) => ({ mediaType: (await isGzip(archive, f)) ? MediaType.OciLayerGzip : MediaType.OciLayer, digest: f.digest, size: f.size })),
  );
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configFile.digest, size: configFile.size },
    layers: layerDescs,
  };
  const manifestBytes = canonicalBytes(manifest);
  const layers = layerDescs.map((d, i) => {
    const f = layerFiles[i] as TarFile;
    return lazyLayer(d, config.rootfs.diff_ids[i] ?? d.digest, () => Promise.resolve(openTarFile(archive, f)));
  });
  return { manifest, manifestBytes, digest: sha256(manifestBytes), config, configBytes, layers };
}

/** Parses manifest.json: a non-empty array of {Config, RepoTags, Layers}. */
export function parseDockerManifest(bytes: Buffer, archive: string): DockerManifestEntry[] {
  const bad = (why: string): OciParseError => new OciParseError(`manifest.json in ${archive} ${why}.`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('is not valid JSON');
  }
  if (!Array.isArray(v) || v.length === 0) throw bad('should be a non-empty array');
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  return v.map((e: unknown, i) => {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const config = o['Config'];
    const layers = o['Layers'];
    if (typeof config !== 'string' || !strings(layers)) throw bad(`entry ${i} lacks Config or Layers`);
    const tags = o['RepoTags'];
    return { Config: config, Layers: layers, RepoTags: strings(tags) ? tags : [] };
  });
}

/** Whether a layer file is gzip'd (old archives hold plain tars, newer ones the registry blobs). */
async function isGzip(archive: string, f: TarFile): Promise<boolean> {
  let head = f.bytes;
  if (!head) {
    const fh = await open(archive, 'r');
    try {
      head = Buffer.alloc(2);
      await fh.read(head, 0, 2, f.start);
    } finally {
      await fh.close();
    }
  }
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}
