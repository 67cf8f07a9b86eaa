import { ShaleError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { MediaType, type Descriptor, type Digest, type ImageConfig, type ImageIndex, type Manifest, type Platform } from '../oci/types.js';

/**
 * Checked parsing of OCI JSON read from disk (layouts, tarballs, the cache index). Values are
 * checked as far as shale relies on them, and unknown fields are kept, so an image read back
 * keeps its exact bytes and digest.
 */
export class OciParseError extends ShaleError {
  constructor(message: string) {
    super('SHALE_BAD_OCI', message);
    this.name = 'OciParseError';
  }
}

type Obj = Record<string, unknown>;

function asObject(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OciParseError(`${where} should be a JSON object`);
  return v as Obj;
}

function asString(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new OciParseError(`${where} should be a string`);
  return v;
}

/** A sha256 digest, or an OciParseError naming where it was expected. */
export function asDigest(v: unknown, where: string): Digest {
  const s = asString(v, where);
  if (!isDigest(s)) throw new OciParseError(`${where} is not a sha256 digest: "${s}"`);
  return s;
}

function asStringMap(v: unknown, where: string): Record<string, string> {
  const o = asObject(v, where);
  for (const [k, x] of Object.entries(o)) asString(x, `${where}["${k}"]`);
  return o as Record<string, string>;
}

function asPlatform(v: unknown, where: string): Platform {
  const o = asObject(v, where);
  const p: Platform = { os: asString(o['os'], `${where}.os`), architecture: asString(o['architecture'], `${where}.architecture`) };
  if (o['variant'] !== undefined) p.variant = asString(o['variant'], `${where}.variant`);
  return p;
}

/** A descriptor (mediaType, digest, size, and optional annotations and platform). */
export function asDescriptor(v: unknown, where: string): Descriptor {
  const o = asObject(v, where);
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new OciParseError(`${where}.size should be a non-negative integer`);
  const d: Descriptor = { mediaType: asString(o['mediaType'], `${where}.mediaType`), digest: asDigest(o['digest'], `${where}.digest`), size };
  if (o['annotations'] !== undefined) d.annotations = asStringMap(o['annotations'], `${where}.annotations`);
  if (o['platform'] !== undefined) d.platform = asPlatform(o['platform'], `${where}.platform`);
  return d;
}

function parseJson(bytes: Buffer, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new OciParseError(`${what} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return asObject(v, what);
}

function asDescriptors(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw new OciParseError(`${where} should be an array`);
  return v.map((x, i) => asDescriptor(x, `${where}[${i}]`));
}

/** An image manifest; `what` names its source in errors ("manifest sha256:... in DIR"). */
export function parseManifest(bytes: Buffer, what: string): Manifest {
  const o = parseJson(bytes, what);
  if (o['schemaVersion'] !== 2) throw new OciParseError(`${what}: schemaVersion should be 2`);
  asDescriptor(o['config'], `${what}: config`);
  asDescriptors(o['layers'], `${what}: layers`);
  // mediaType is optional in OCI manifests; the value shale works with always has one.
  return { ...o, mediaType: typeof o['mediaType'] === 'string' ? o['mediaType'] : MediaType.OciManifest } as unknown as Manifest;
}

/** An image index (or Docker manifest list). */
export function parseIndex(bytes: Buffer, what: string): ImageIndex {
  const o = parseJson(bytes, what);
  if (o['schemaVersion'] !== 2) throw new OciParseError(`${what}: schemaVersion should be 2`);
  asDescriptors(o['manifests'], `${what}: manifests`);
  return { ...o, mediaType: typeof o['mediaType'] === 'string' ? o['mediaType'] : MediaType.OciIndex } as unknown as ImageIndex;
}

/** An image configuration; shale relies on os, architecture and rootfs.diff_ids. */
export function parseConfig(bytes: Buffer, what: string): ImageConfig {
  const o = parseJson(bytes, what);
  asString(o['os'], `${what}: os`);
  asString(o['architecture'], `${what}: architecture`);
  const rootfs = asObject(o['rootfs'], `${what}: rootfs`);
  const ids = rootfs['diff_ids'];
  if (!Array.isArray(ids)) throw new OciParseError(`${what}: rootfs.diff_ids should be an array`);
  ids.forEach((x, i) => asDigest(x, `${what}: rootfs.diff_ids[${i}]`));
  return o as unknown as ImageConfig;
}
