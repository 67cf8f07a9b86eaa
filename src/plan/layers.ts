import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import type { BuildSpec } from '../config/spec.js';
import { InputError } from '../errors.js';
import type { Entry } from '../layer/entry.js';
import { LAYER_FORMAT_VERSION } from '../layer/blob.js';
import type { InstallLayout } from '../python/layout.js';
import type { Digest } from '../oci/types.js';
import { mapLimit } from '../limit.js';
import { entryInputs, fingerprint, type EntryInput } from './fingerprint.js';
import { mergePackageEntries } from './package-files.js';
import type { FileHashes } from '../store/file-hashes.js';

/** A third-party package ready for layering: its wheel, and its installed files on demand. */
export interface PackageInput {
  name: string;
  version: string;
  /** The wheel's file name and sha256 (hex): they decide the installed bytes. */
  wheel: string;
  sha256: string;
  pure: boolean;
  /** Bytes of the wheel file: known without downloading it, so it decides the grouping. */
  size: number;
  /** With `compile-bytecode`, what decides the .pyc bytes (the compiler's Python; see bytecodeKey). */
  bytecode?: string;
  /** The installed files; fetches and installs the wheel on first call (memoized). */
  entries(): Promise<Entry[]>;
}

/** A local source package (a `paths` entry of a layer), installed. */
export interface LibInput {
  name: string;
  /** Project-relative directory, for history and explain. */
  dir: string;
  entries: Entry[];
}

/** One layer shale will make: its name, what it holds, and the fingerprint of its inputs. */
export interface PlannedLayer {
  name: string;
  kind: 'system' | 'packages' | 'libs' | 'app' | 'ca-certs' | 'users';
  /** The history line (`created_by`) that names the layer. */
  createdBy: string;
  fingerprint: Digest;
  /** The inputs the fingerprint was computed from, kept for --explain. */
  inputs: LayerInputs;
  /** What the layer holds. For package layers this fetches and installs wheels, so call it only to build the layer. */
  entries(): Promise<Entry[]>;
  /** A rough measure of the work of building it (input bytes): bigger layers are started first. */
  weight: number;
}

export type LayerInputs =
  | {
      kind: 'packages';
      format: number;
      epoch: number;
      layout: InstallLayout;
      wheels: { name: string; version: string; wheel: string; sha256: string; bytecode?: string }[];
    }
  | { kind: 'libs' | 'app' | 'ca-certs' | 'users'; format: number; epoch: number; files: EntryInput[] }
  | SystemInputs;

/** A system layer's inputs (src/debian): its .debs by sha256, and for the one holding dpkg's records, the base's dpkg state. */
export interface SystemInputs {
  kind: 'system';
  format: number;
  /** src/debian's own format of what a system layer holds. */
  system: number;
  epoch: number;
  rootLinks: Record<string, string>;
  debs: { name: string; version: string; architecture: string; sha256: string }[];
  dpkg?: string;
  records?: string[];
  /** The .debs of the system layers below, which this one's status file lists and its alternatives may point at. */
  below?: string[];
  /** A system layer above writes the status file: this one holds info files only. */
  statusAbove?: boolean;
}

/**
 * Packages whose wheel file is at least this big get a layer of their own in automatic layering.
 * The wheel's size, not the installed size, so a runner can plan layers without downloading.
 */
export const LARGE_WHEEL_BYTES = 4 * 1024 * 1024;
/**
 * The long tail of small packages is spread over up to this many buckets per kind (pure, native):
 * enough that bumping or adding one small package re-uploads a small layer (about 1/16 of the
 * tail), few enough to stay in the layer budget. Over budget, the count halves (16 → 8 → ...);
 * since the bucket is the name hash modulo a power of two, halving merges buckets pairwise.
 */
export const BUCKETS = 16;

export interface PlanInput {
  spec: BuildSpec;
  layout: InstallLayout;
  packages: PackageInput[];
  libs: LibInput[];
  app: Entry[];
  epoch: number;
  /** Remembers host files' content hashes across runs (see FileHashes). */
  hashes?: FileHashes;
  /** How many layers the base image has: they count against `max-layers`. */
  baseLayers?: number;
  /** With `ca-certs`, the CA bundle's entries: a `ca-certs` layer below the packages. */
  caCerts?: Entry[] | undefined;
  /** With `user`/`writable`, the `users` layer (plan/users-layer.ts): first above the base. */
  users?: { entries: Entry[]; createdBy: string } | undefined;
}

/** The default of `max-layers`: layers of the whole image, the base's included (docs/design.md: stay well under ~100). */
export const DEFAULT_MAX_LAYERS = 60;

const bucketOf = (name: string, buckets: number): number => createHash('sha256').update(name).digest().readUInt32BE(0) % buckets;

function packageLayer(name: string, pkgs: readonly PackageInput[], layout: InstallLayout, epoch: number): PlannedLayer {
  const sorted = [...pkgs].sort((a, b) => (a.name < b.name ? -1 : 1));
  const inputs: LayerInputs = {
    kind: 'packages',
    format: LAYER_FORMAT_VERSION,
    epoch,
    layout,
    // `bytecode` only when set, so fingerprints without compile-bytecode stay as they were.
    wheels: sorted.map((p) => ({
      name: p.name,
      version: p.version,
      wheel: p.wheel,
      sha256: p.sha256,
      ...(p.bytecode === undefined ? {} : { bytecode: p.bytecode }),
    })),
  };
  return {
    name,
    kind: 'packages',
    createdBy: `shale: ${name}: ${sorted.map((p) => `${p.name}==${p.version}`).join(' ')}`,
    fingerprint: fingerprint(inputs),
    inputs,
    // At most a few wheels fetched and installed at once, as before planning became lazy. A path
    // two of them install identically (a namespace package's __init__.py) is written once.
    entries: async () => mergePackageEntries(name, sorted, await mapLimit(sorted, 4, (p) => p.entries()), layout),
    weight: sorted.reduce((n, p) => n + p.size, 0),
  };
}

async function fileLayer(
  name: string,
  kind: 'libs' | 'app' | 'ca-certs' | 'users',
  createdBy: string,
  entries: Entry[],
  epoch: number,
  hashes?: FileHashes,
): Promise<PlannedLayer> {
  const inputs: LayerInputs = { kind, format: LAYER_FORMAT_VERSION, epoch, files: await entryInputs(entries, hashes) };
  const weight = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  return { name, kind, createdBy, fingerprint: fingerprint(inputs), inputs, entries: () => Promise.resolve(entries), weight };
}

/**
 * Automatic layering of third-party packages (docs/design.md): each large package (wheel of at least
 * {@link LARGE_WHEEL_BYTES}) on its own layer, the long tail in a few buckets keyed by a hash of
 * the package name (so bumping one package changes one bucket), pure and native packages never
 * together (pure layers are the same blob on every platform). Needs no wheel's contents.
 */
export function autoPackageLayers(pkgs: readonly PackageInput[], layout: InstallLayout, epoch: number, maxLayers = Infinity): PlannedLayer[] {
  // Over budget, first fewer buckets, then the smallest large packages join them (the largest
  // packages are where a layer of their own saves the most).
  const bySize = pkgs.filter((p) => p.size >= LARGE_WHEEL_BYTES).sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  let planned: PlannedLayer[] = [];
  for (let keep = bySize.length; keep >= 0; keep--) {
    for (let buckets = BUCKETS; buckets >= 1; buckets /= 2) {
      planned = groupPackages(pkgs, new Set(bySize.slice(0, keep)), buckets, layout, epoch);
      if (planned.length <= maxLayers) return planned;
    }
  }
  return planned;
}

function groupPackages(pkgs: readonly PackageInput[], own: ReadonlySet<PackageInput>, buckets: number, layout: InstallLayout, epoch: number): PlannedLayer[] {
  const large = pkgs.filter((p) => own.has(p)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const small = pkgs.filter((p) => !own.has(p));
  const out = large.map((p) => packageLayer(`pkg-${p.name}`, [p], layout, epoch));
  for (const pure of [true, false]) {
    for (let b = 0; b < buckets; b++) {
      const group = small.filter((p) => p.pure === pure && bucketOf(p.name, buckets) === b);
      if (group.length) out.push(packageLayer(`deps-${pure ? 'pure' : 'native'}-${b}`, group, layout, epoch));
    }
  }
  return out;
}

/** Packages of explicit layers: a list of names, or "all" for every package no other layer names. */
function explicitPackageGroups(spec: BuildSpec, pkgs: readonly PackageInput[]): Map<string, PackageInput[]> {
  const layers = spec.layers ?? [];
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const named = new Set<string>();
  const groups = new Map<string, PackageInput[]>();
  for (const l of layers) {
    if (!Array.isArray(l.packages)) continue;
    const group: PackageInput[] = [];
    for (const raw of l.packages) {
      const n = raw.toLowerCase().replace(/[-_.]+/g, '-');
      const p = byName.get(n);
      if (!p)
        throw new InputError(
          'SHALE_LAYER_PACKAGE',
          `${spec.configFile}: layer "${l.name}" names package "${raw}", which is not in the lock ${spec.lock ? relative(spec.projectDir, spec.lock) : '(none)'}; add it to the lock or remove it from the layer`,
        );
      if (named.has(n)) throw new InputError('SHALE_LAYER_PACKAGE', `${spec.configFile}: package "${raw}" is named by two layers; keep it in one`);
      named.add(n);
      group.push(p);
    }
    groups.set(l.name, group);
  }
  const allLayer = layers.find((l) => l.packages === 'all');
  const rest = pkgs.filter((p) => !named.has(p.name));
  if (allLayer) groups.set(allLayer.name, rest);
  else if (rest.length) {
    throw new InputError(
      'SHALE_LAYER_PACKAGE',
      `${spec.configFile}: packages ${rest.map((p) => p.name).join(', ')} are in the lock but in no layer; add packages = "all" to one [[tool.shale.layers]] entry or list them`,
    );
  }
  return groups;
}

/**
 * Plans every layer above the base, in order from least to most often changed: third-party
 * packages, local libraries, then the app. With `[[tool.shale.layers]]` the user's layers come
 * in their order; without, shale chooses.
 */
export async function planLayers(input: PlanInput): Promise<PlannedLayer[]> {
  const { spec, layout, packages, libs, app, epoch } = input;
  const maxLayers = spec.maxLayers ?? DEFAULT_MAX_LAYERS;
  const out: PlannedLayer[] = [];
  if (input.users?.entries.length) out.push(await fileLayer('users', 'users', input.users.createdBy, input.users.entries, epoch));
  if (input.caCerts)
    out.push(await fileLayer('ca-certs', 'ca-certs', 'shale: ca-certs: /etc/ssl/certs/ca-certificates.crt from the build host', input.caCerts, epoch));
  if (spec.layers) {
    const groups = explicitPackageGroups(spec, packages);
    for (const l of spec.layers) {
      const group = groups.get(l.name) ?? [];
      const libsHere = libs.filter((lib) => l.paths?.some((p) => relative(spec.projectDir, p) === lib.dir));
      if (group.length && libsHere.length) {
        throw new InputError(
          'SHALE_LAYER_MIXED',
          `${spec.configFile}: layer "${l.name}" has both packages and paths; third-party packages and local libraries change at different rates, so give each its own layer`,
        );
      }
      if (group.length) out.push(packageLayer(l.name, group, layout, epoch));
      else if (libsHere.length)
        out.push(
          await fileLayer(
            l.name,
            'libs',
            `shale: ${l.name}: ${libsHere.map((x) => x.dir).join(' ')}`,
            libsHere.flatMap((x) => x.entries),
            epoch,
            input.hashes,
          ),
        );
    }
  } else {
    out.push(...autoPackageLayers(packages, layout, epoch, maxLayers - (input.baseLayers ?? 0) - out.length - (libs.length ? 1 : 0) - 1));
    if (libs.length)
      out.push(
        await fileLayer(
          'libs',
          'libs',
          `shale: libs: ${libs.map((x) => x.dir).join(' ')}`,
          libs.flatMap((x) => x.entries),
          epoch,
          input.hashes,
        ),
      );
  }
  out.push(
    await fileLayer(
      'app',
      'app',
      `shale: app: ${spec.app.map((a) => relative(spec.projectDir, a.from) || '.').join(' ')} -> ${spec.workdir}`,
      app,
      epoch,
      input.hashes,
    ),
  );
  checkUniqueNames(out, spec.configFile);
  const total = (input.baseLayers ?? 0) + out.length;
  if (total > maxLayers) {
    throw new InputError(
      'SHALE_TOO_MANY_LAYERS',
      `${spec.configFile}: the image would have ${total} layers (${input.baseLayers ?? 0} from the base, ${out.length} from shale), over max-layers = ${maxLayers}; ` +
        'put more packages in one [[tool.shale.layers]] entry (or fewer entries), pick a base with fewer layers, or raise max-layers (at most 127: runtimes refuse deeper images)',
    );
  }
  return out;
}

/** Layer names are unique in an image (the cache, `--explain` and `history` go by them): a clash is an InputError naming it. */
export function checkUniqueNames(layers: readonly Pick<PlannedLayer, 'name'>[], configFile: string): void {
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name))
      throw new InputError(
        'SHALE_LAYER_NAME',
        `${configFile}: two layers are named "${l.name}"; layer names must be unique: rename a [[tool.shale.layers]] entry`,
      );
    names.add(l.name);
  }
}
