import { ShaleError } from '../errors.js';
import { isDigest } from './digest.js';
import {
  MediaType,
  type ContainerConfig,
  type Descriptor,
  type Digest,
  type HistoryEntry,
  type ImageConfig,
  type ImageIndex,
  type Manifest,
  type Platform,
} from './types.js';

/**
 * Checked parsing of the OCI JSON shale reads (registries, layouts, tarballs, the cache index).
 * Each function returns the object it checked: every field the model names is taken from a
 * value that was checked to have that type. Fields the model does not name are carried over
 * unchanged (and unchecked), so an index.json written back, or an image built on a base read
 * this way, keeps them and the digests stay what they were.
 */
export class OciParseError extends ShaleError {
  constructor(message: string) {
    super('SHALE_BAD_OCI', message);
    this.name = 'OciParseError';
  }
}

type Obj = Record<string, unknown>;

/** `{ [key]: value }`, or nothing when the value is absent (for optional fields). */
const some = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

function asObject(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OciParseError(`${where} should be a JSON object`);
  return v as Obj;
}

function asString(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new OciParseError(`${where} should be a string`);
  return v;
}

function asBoolean(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') throw new OciParseError(`${where} should be true or false`);
  return v;
}

function asStrings(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new OciParseError(`${where} should be an array of strings`);
  return v.map((x, i) => asString(x, `${where}[${i}]`));
}

/** Where a field is, for messages: "manifest …: config" for a top-level one, "….size" below. */
const at = (where: string, key: string): string => (where.endsWith(':') ? `${where} ${key}` : `${where}.${key}`);

/** Applies `check` to a field that may be missing: missing stays missing. */
function optional<T>(o: Obj, key: string, where: string, check: (v: unknown, where: string) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key], at(where, key));
}

/** Like `optional`, and `null` (which Docker writes for empty lists and maps) stays `null`. */
function nullable<T>(o: Obj, key: string, where: string, check: (v: unknown, where: string) => T): T | null | undefined {
  return o[key] === null ? null : optional(o, key, where, check);
}

/** A sha256 digest, or an OciParseError naming where it was expected. */
export function asDigest(v: unknown, where: string): Digest {
  const s = asString(v, where);
  if (!isDigest(s)) throw new OciParseError(`${where} is not a sha256 digest: "${s}"`);
  return s;
}

function asStringMap(v: unknown, where: string): Record<string, string> {
  const o = asObject(v, where);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, asString(x, `${where}["${k}"]`)]));
}

function asObjectMap(v: unknown, where: string): Record<string, object> {
  const o = asObject(v, where);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, asObject(x, `${where}["${k}"]`)]));
}

function asPlatform(v: unknown, where: string): Platform {
  const o = asObject(v, where);
  return {
    ...o,
    os: asString(o['os'], `${where}.os`),
    architecture: asString(o['architecture'], `${where}.architecture`),
    ...some('variant', optional(o, 'variant', where, asString)),
  };
}

/** A descriptor (mediaType, digest, size, and optional annotations, platform and urls). */
export function asDescriptor(v: unknown, where: string): Descriptor {
  const o = asObject(v, where);
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new OciParseError(`${where}.size should be a non-negative integer`);
  return {
    ...o,
    mediaType: asString(o['mediaType'], `${where}.mediaType`),
    digest: asDigest(o['digest'], `${where}.digest`),
    size,
    ...some('annotations', optional(o, 'annotations', where, asStringMap)),
    ...some('platform', optional(o, 'platform', where, asPlatform)),
    ...some('urls', optional(o, 'urls', where, asStrings)),
  };
}

function asDescriptors(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw new OciParseError(`${where} should be an array`);
  return v.map((x, i) => asDescriptor(x, `${where}[${i}]`));
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

function schemaVersion2(o: Obj, what: string): 2 {
  if (o['schemaVersion'] !== 2) throw new OciParseError(`${what}: schemaVersion should be 2`);
  return 2;
}

/** An image manifest; `what` names its source in errors ("manifest sha256:... in DIR"). */
export function parseManifest(bytes: Buffer, what: string): Manifest {
  const o = parseJson(bytes, what);
  return {
    ...o,
    schemaVersion: schemaVersion2(o, what),
    // mediaType is optional in OCI manifests; the value shale works with always has one.
    mediaType: optional(o, 'mediaType', `${what}:`, asString) ?? MediaType.OciManifest,
    config: asDescriptor(o['config'], `${what}: config`),
    layers: asDescriptors(o['layers'], `${what}: layers`),
    ...some('annotations', optional(o, 'annotations', `${what}:`, asStringMap)),
  };
}

/** An image index (or Docker manifest list). */
export function parseIndex(bytes: Buffer, what: string): ImageIndex {
  const o = parseJson(bytes, what);
  return {
    ...o,
    schemaVersion: schemaVersion2(o, what),
    mediaType: optional(o, 'mediaType', `${what}:`, asString) ?? MediaType.OciIndex,
    manifests: asDescriptors(o['manifests'], `${what}: manifests`),
    ...some('annotations', optional(o, 'annotations', `${what}:`, asStringMap)),
  };
}

function asHistoryEntry(v: unknown, where: string): HistoryEntry {
  const o = asObject(v, where);
  return {
    ...o,
    ...some('created', optional(o, 'created', where, asString)),
    ...some('created_by', optional(o, 'created_by', where, asString)),
    ...some('comment', optional(o, 'comment', where, asString)),
    ...some('author', optional(o, 'author', where, asString)),
    ...some('empty_layer', optional(o, 'empty_layer', where, asBoolean)),
  };
}

function asHistory(v: unknown, where: string): HistoryEntry[] {
  if (!Array.isArray(v)) throw new OciParseError(`${where} should be an array`);
  return v.map((x, i) => asHistoryEntry(x, `${where}[${i}]`));
}

function asContainerConfig(v: unknown, where: string): ContainerConfig {
  const o = asObject(v, where);
  return {
    ...o,
    ...some('User', optional(o, 'User', where, asString)),
    ...some('WorkingDir', optional(o, 'WorkingDir', where, asString)),
    ...some('Env', nullable(o, 'Env', where, asStrings)),
    ...some('Entrypoint', nullable(o, 'Entrypoint', where, asStrings)),
    ...some('Cmd', nullable(o, 'Cmd', where, asStrings)),
    ...some('ExposedPorts', nullable(o, 'ExposedPorts', where, asObjectMap)),
    ...some('Labels', nullable(o, 'Labels', where, asStringMap)),
  };
}

/** An image configuration: os, architecture, rootfs.diff_ids, and the fields shale reads, checked. */
export function parseConfig(bytes: Buffer, what: string): ImageConfig {
  const { config, ...o } = parseJson(bytes, what);
  const rootfs = asObject(o['rootfs'], `${what}: rootfs`);
  if (rootfs['type'] !== 'layers') throw new OciParseError(`${what}: rootfs.type should be "layers"`);
  const ids = rootfs['diff_ids'];
  if (!Array.isArray(ids)) throw new OciParseError(`${what}: rootfs.diff_ids should be an array`);
  return {
    ...o,
    os: asString(o['os'], `${what}: os`),
    architecture: asString(o['architecture'], `${what}: architecture`),
    ...some('variant', optional(o, 'variant', `${what}:`, asString)),
    ...some('created', optional(o, 'created', `${what}:`, asString)),
    ...some('author', optional(o, 'author', `${what}:`, asString)),
    // Docker writes `"config": null` for an image that sets nothing; that is no config.
    ...some('config', config === null ? undefined : optional({ config }, 'config', `${what}:`, asContainerConfig)),
    rootfs: { ...rootfs, type: 'layers', diff_ids: ids.map((x, i) => asDigest(x, `${what}: rootfs.diff_ids[${i}]`)) },
    ...some('history', optional(o, 'history', `${what}:`, asHistory)),
  };
}
