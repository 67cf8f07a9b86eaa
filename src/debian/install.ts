/**
 * `system-packages` for one build: per platform, the base's Debian system read (base-system.ts),
 * its sources' signed indexes fetched (archive.ts), the packages resolved against what the base
 * has (resolve.ts), and the system layers planned with fingerprints made of the .debs' sha256,
 * so a layer is reused from the cache or a registry without downloading a .deb. The .debs are
 * fetched and unpacked only when a layer is built.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { PublicKey } from 'openpgp';
import { InputError, ShaleError } from '../errors.js';
import type { Events } from '../events.js';
import type { Entry } from '../layer/entry.js';
import { LAYER_FORMAT_VERSION } from '../layer/blob.js';
import type { LayerBlob } from '../layer/read-entries.js';
import { sha256 } from '../oci/digest.js';
import type { Platform } from '../oci/types.js';
import { fingerprint } from '../plan/fingerprint.js';
import type { PlannedLayer } from '../plan/layers.js';
import type { BlobStore } from '../store/blob-store.js';
import { fetchPackages, fetchRelease, fetchVerified, packagesFile, type Fetcher, type Release, type ReleaseFile } from './archive.js';
import { isEmptySystem, readBaseSystem, type BaseSystem, type SystemRecords } from './base-system.js';
import { readDeb } from './deb.js';
import { PackageIndex, type DebPackage } from './package-index.js';
import { installedOf, resolveGroups, type Resolution } from './resolve.js';
import { mapLimit } from '../limit.js';
import { readKeyrings, type Keyring } from './signature.js';
import { parseDeb822Sources, parseSourcesList, type AptSource } from './sources.js';
import { dataEntries, dpkgEntries, throughLinks, type LaidPackage } from './system-layer.js';
import { alternativeEntries, installCalls } from './alternatives.js';
import { scriptNotes } from './scripts.js';
import { SYSTEM_LOCK } from './lock.js';
import { SYSTEM_LAYER, type SystemGroup } from '../config/spec.js';

/** What the config asks for. */
export interface SystemRequest {
  /** Each system layer's packages, lowest first (config/spec.ts systemGroups). */
  groups: SystemGroup[];
  /** `apt-sources`: one-line sources.list entries; replace the base's sources. */
  aptSources?: string[];
  configFile: string;
  projectDir: string;
}

/** A resolved .deb as the layer's inputs (and a lock) record it: the index's fields that name and check it. */
export interface PinnedDeb extends Pick<DebPackage, 'name' | 'version' | 'architecture' | 'filename' | 'sha256' | 'size' | 'uri'> {
  /** The system layer it goes into: "system" (the top-level `system-packages`) or a `[[layers]]` entry's name. */
  layer: string;
}

/** Debian's name of an OCI platform's architecture. */
export function debianArch(p: Platform): string {
  switch (p.architecture) {
    case 'amd64':
      return 'amd64';
    case 'arm64':
      return 'arm64';
    case 'arm':
      return p.variant === 'v5' ? 'armel' : 'armhf';
    case '386':
      return 'i386';
    case 'ppc64le':
      return 'ppc64el';
    case 's390x':
      return 's390x';
    case 'riscv64':
      return 'riscv64';
    case 'mips64le':
      return 'mips64el';
    default:
      throw new InputError('SHALE_SYSTEM_ARCH', `system-packages: Debian has no architecture for the platform ${p.os}/${p.architecture}`);
  }
}

/** A Packages file a source's signed Release lists for one component and architecture. */
interface PackageList {
  source: AptSource;
  release: Release;
  component: string;
  file: ReleaseFile;
}

/** A small JSON record by key (the cache's layer records). */
export interface KeyRecords {
  get(key: readonly string[]): Promise<unknown>;
  set(key: readonly string[], value: unknown): Promise<void>;
}

/** A resolution: the pins of every system layer, and the requested packages already there (in the base, or a lower layer). */
export interface SystemResolution {
  pins: PinnedDeb[];
  alreadyInstalled: string[];
}

const isResolved = (v: unknown): v is SystemResolution =>
  typeof v === 'object' &&
  v !== null &&
  Array.isArray((v as { pins?: unknown }).pins) &&
  Array.isArray((v as { alreadyInstalled?: unknown }).alreadyInstalled) &&
  (v as { pins: unknown[] }).pins.every(
    (p) =>
      typeof p === 'object' &&
      p !== null &&
      typeof (p as PinnedDeb).layer === 'string' &&
      typeof (p as PinnedDeb).sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test((p as PinnedDeb).sha256),
  );

/** Bumped when what a system layer holds for the same .debs changes. */
const SYSTEM_FORMAT = 4;
/** Bumped when the same request and indexes may resolve otherwise (recorded resolutions are then not used). */
const RESOLVER_VERSION = 2;

/** The shared state of one build: releases and indexes fetched once for every platform. */
export class DebianInstaller {
  private readonly releases = new Map<string, Promise<Release>>();
  private readonly indexes = new Map<string, Promise<PackageIndex>>();
  private readonly listsOf = new Map<string, Promise<PackageList[]>>();

  constructor(private readonly ctx: { store: BlobStore; records: SystemRecords; layerRecords: KeyRecords; http: Fetcher; events: Events; noCache: boolean }) {}

  /** The base's Debian system, or an error saying what bases are supported. */
  async baseSystem(base: { name: string; digest: string; layers: readonly LayerBlob[] }): Promise<BaseSystem> {
    const system = await readBaseSystem(base, this.ctx.records, this.ctx.noCache);
    if (isEmptySystem(system)) {
      throw new InputError(
        'SHALE_SYSTEM_NO_DPKG',
        `system-packages: the base image ${base.name} has no dpkg database (/var/lib/dpkg/status or /var/lib/dpkg/status.d/), so shale ` +
          `cannot tell what it has installed; ` +
          'system packages are supported on Debian and Ubuntu based images (python:*-slim, debian:*) and on distroless images; use such a ' +
          'base, or install the files another way',
      );
    }
    return system;
  }

  /** The sources to use: `apt-sources` (keys from the host, relative to the project) or the base's. */
  private async sources(req: SystemRequest, system: BaseSystem): Promise<{ source: AptSource; keys: PublicKey[] }[]> {
    const fromConfig = req.aptSources !== undefined;
    const sources = parsedSources(req, system);
    if (!sources.length) {
      throw new InputError(
        'SHALE_APT_SOURCES',
        fromConfig
          ? `${req.configFile}: apt-sources names no "deb" source`
          : `system-packages: the base image has no apt sources (/etc/apt/sources.list or sources.list.d/); set apt-sources in ${req.configFile}`,
      );
    }
    const hostKey = async (p: string): Promise<Keyring> => {
      const file = isAbsolute(p) ? p : join(req.projectDir, p);
      try {
        return { name: file, bytes: await readFile(file) };
      } catch (err) {
        throw new InputError(
          'SHALE_APT_SOURCES',
          `${req.configFile}: apt-sources: cannot read the keyring ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ` +
            `signed-by names a keyring file on this machine, relative to the project`,
        );
      }
    };
    const imageKey = (p: string): Keyring[] => (system.keyrings[p] ? [{ name: p, bytes: Buffer.from(system.keyrings[p], 'base64') }] : []);
    const trusted = (): Keyring[] =>
      Object.keys(system.keyrings)
        .filter((p) => p === '/etc/apt/trusted.gpg' || p.startsWith('/etc/apt/trusted.gpg.d/'))
        .flatMap(imageKey);
    return Promise.all(
      sources.map(async (source) => {
        let rings: Keyring[];
        if (source.signedBy?.some((s) => s.includes('BEGIN PGP')))
          rings = source.signedBy.map((s, i) => ({ name: `${source.origin} Signed-By[${i}]`, bytes: Buffer.from(s) }));
        else if (source.signedBy) rings = fromConfig ? await Promise.all(source.signedBy.map(hostKey)) : source.signedBy.flatMap(imageKey);
        else rings = fromConfig ? [] : trusted();
        const keys = await readKeyrings(rings);
        if (!keys.length) {
          throw new InputError(
            'SHALE_APT_KEYS',
            `system-packages: no key to check ${source.uri} ${source.suite} (${source.origin}) with: ` +
              (fromConfig
                ? 'add [signed-by=FILE] with a keyring file of the archive (e.g. a copy of /usr/share/keyrings/debian-archive-keyring.gpg) ' +
                  'to the apt-sources entry'
                : `the base image has ${source.signedBy ? `no readable keyring at ${source.signedBy.join(', ')}` : 'no keyring in /etc/apt/trusted.gpg.d'}; ` +
                  `set apt-sources in ${req.configFile} with [signed-by=FILE]`),
          );
        }
        return { source, keys };
      }),
    );
  }

  private release(source: AptSource, keys: PublicKey[]): Promise<Release> {
    const key = `${source.uri} ${source.suite} ${keys
      .map((k) => k.getFingerprint())
      .sort()
      .join(',')}`;
    let p = this.releases.get(key);
    if (!p) {
      this.ctx.events({ type: 'log', level: 'debug', message: `fetching ${source.uri}/dists/${source.suite}/InRelease` });
      p = fetchRelease(this.ctx.http, source.uri, source.suite, keys);
      this.releases.set(key, p);
    }
    return p;
  }

  /**
   * The Packages files of every source for `arch`, as their signed Releases vouch for them
   * (InRelease fetched and verified; no index downloaded yet).
   */
  private lists(req: SystemRequest, system: BaseSystem, arch: string): Promise<PackageList[]> {
    const key = `${arch} ${JSON.stringify(req.aptSources ?? system.sourceLists)}`;
    let p = this.listsOf.get(key);
    if (!p) {
      p = (async () => {
        const out: PackageList[] = [];
        for (const { source, keys } of await this.sources(req, system)) {
          if (source.architectures && !source.architectures.includes(arch)) continue;
          const release = await this.release(source, keys);
          for (const component of source.components) {
            const file = packagesFile(release, component, arch);
            if (file) out.push({ source, release, component, file });
          }
        }
        return out;
      })();
      this.listsOf.set(key, p);
    }
    return p;
  }

  /** The merged index of `lists`, downloaded (or from the cache) and checked. */
  private index(lists: readonly PackageList[], arch: string): Promise<PackageIndex> {
    const key = lists.map((l) => l.file.sha256).join(' ');
    let p = this.indexes.get(key);
    if (!p) {
      p = (async () => {
        const index = new PackageIndex();
        for (const { source, release, component } of lists) {
          const bytes = await fetchPackages(this.ctx.http, this.ctx.store, source.uri, source.suite, release, component, arch);
          if (bytes !== undefined) index.add(bytes, source.uri, `${source.uri} ${source.suite}/${component}/binary-${arch}/Packages`);
        }
        return index;
      })();
      this.indexes.set(key, p);
    }
    return p;
  }

  /**
   * Resolves the request on one platform's base. A resolution is recorded by everything that
   * decides it (the signed indexes' hashes, the request, the base's dpkg state), so a rebuild
   * with unchanged indexes fetches only InRelease and reads no index.
   */
  async resolve(req: SystemRequest, system: BaseSystem, platform: Platform): Promise<SystemResolution> {
    const arch = debianArch(platform);
    const lists = await this.lists(req, system, arch);
    const key = [
      'debian-resolution',
      fingerprint({
        format: SYSTEM_FORMAT,
        resolver: RESOLVER_VERSION,
        arch,
        request: req.groups,
        lists: lists.map((l) => `${l.source.uri} ${l.source.suite} ${l.file.sha256}`),
        status: system.status ?? '',
        statusD: system.statusD,
      }),
    ];
    if (!this.ctx.noCache) {
      const known = await this.ctx.layerRecords.get(key);
      if (isResolved(known)) return known;
    }
    const index = await this.index(lists, arch);
    const installed = installedOf(system.status, system.statusD);
    const what = (layer: string): string => `${req.configFile}: ${layer === SYSTEM_LAYER ? '' : `layer "${layer}" `}system-packages`;
    const groups = resolveGroups(req.groups, index, installed, what);
    const lowest = (n: string): string => groups.find((g) => g.install.some((c) => c.pkg.name === n))?.name ?? '?';
    const out: SystemResolution = {
      pins: groups.flatMap((g) => pinsOf(g, g.name)),
      alreadyInstalled: groups.flatMap((g) => g.alreadyInstalled.map((n) => (installed.packages.has(n) ? n : `${n} (in layer ${lowest(n)})`))),
    };
    await this.ctx.layerRecords.set(key, out);
    return out;
  }

  /** The URIs of the sources (no InRelease fetched): where a locked .deb is looked for first. */
  sourceUris(req: SystemRequest, system: BaseSystem): string[] {
    return [...new Set(parsedSources(req, system).map((s) => s.uri))];
  }

  /**
   * The .deb of a pinned package, from the cache or a source, checked against its sha256. `uris`
   * are tried first, then the one it was resolved from (a lock may outlive a mirror's copy).
   */
  async deb(d: PinnedDeb, uris: readonly string[] = []): Promise<Buffer> {
    const tried: string[] = [];
    for (const uri of [...new Set([...uris, d.uri])]) {
      try {
        return await fetchVerified(this.ctx.http, this.ctx.store, `${uri}/${d.filename}`, d.sha256, d.size, `${d.name} ${d.version} (${d.filename})`);
      } catch (err) {
        if (!(err instanceof ShaleError && err.code === 'SHALE_DEBIAN_FETCH' && /HTTP 404/.test(err.message))) throw err;
        tried.push(uri);
      }
    }
    throw new ShaleError(
      'SHALE_DEBIAN_GONE',
      `${d.name} ${d.version} (${d.filename}, sha256 ${d.sha256}) is not on ${tried.join(' or ')} any more (HTTP 404). ` +
        `The lock (${SYSTEM_LOCK}) pins it: point apt-sources at a snapshot of the archive that still has it, e.g. "deb [signed-by=KEYRING] ` +
        `http://snapshot.debian.org/archive/debian/YYYYMMDDThhmmssZ bookworm main", ` +
        'or run `shale lock` to pin what the archive has now',
    );
  }

  /**
   * The system layers of one platform, per system layer of the config (lowest first, `layers`):
   * `<name>-all` for its Architecture: all packages (the same blob on every platform), then
   * `<name>` with the rest and dpkg's records of them; on a base with a status file the topmost
   * one writes it, with every layer's packages (the others only their info files).
   */
  planLayers(
    debs: readonly PinnedDeb[],
    system: BaseSystem,
    epoch: number,
    uris: readonly string[] = [],
    layers: readonly string[] = [SYSTEM_LAYER],
  ): PlannedLayer[] {
    const opened = new Map<string, Promise<LaidPackage>>();
    const open = (d: PinnedDeb): Promise<LaidPackage> => {
      let p = opened.get(d.sha256);
      if (!p) {
        p = this.deb(d, uris).then(async (bytes) => ({ name: d.name, architecture: d.architecture, contents: await readDeb(bytes, `${d.name} ${d.version}`) }));
        opened.set(d.sha256, p);
      }
      return p;
    };
    const out: PlannedLayer[] = [];
    const below: PinnedDeb[] = [];
    const filled = layers.filter((name) => debs.some((d) => d.layer === name));
    for (const name of filled) {
      const own = byName(debs.filter((d) => d.layer === name));
      out.push(...this.groupLayers(name, own, byName(below), system, epoch, open, name === filled.at(-1)));
      below.push(...own);
    }
    return out;
  }

  /** One system layer of the config: its `-all` layer (when it has such packages) and its own, with dpkg's records. */
  private groupLayers(
    name: string,
    sorted: PinnedDeb[],
    below: PinnedDeb[],
    system: BaseSystem,
    epoch: number,
    open: (d: PinnedDeb) => Promise<LaidPackage>,
    top: boolean,
  ): PlannedLayer[] {
    const all = sorted.filter((d) => d.architecture === 'all');
    const native = sorted.filter((d) => d.architecture !== 'all');
    const dpkg = system.status === undefined ? 'status.d' : `status ${sha256(Buffer.from(system.status))}`;
    // The status file is the topmost system layer's (a layer's file would replace the one below).
    const statusAbove = !top && system.status !== undefined;
    const layer = (layerName: string, own: PinnedDeb[], records: boolean): PlannedLayer => {
      // The shared blob of Architecture: all packages may depend only on what every platform's
      // base has alike: /bin, /sbin and /lib links, not the per-architecture /lib64 or /lib32.
      const rootLinks = records ? system.rootLinks : sharedLinks(system.rootLinks);
      const inputs = {
        kind: 'system' as const,
        format: LAYER_FORMAT_VERSION,
        system: SYSTEM_FORMAT,
        epoch,
        rootLinks,
        debs: own.map((d) => ({ name: d.name, version: d.version, architecture: d.architecture, sha256: d.sha256 })),
        ...(records ? { dpkg, records: sorted.map((d) => d.sha256) } : {}),
        // The lower layers' packages are in this one's dpkg status and may be an alternative's target.
        ...(records && below.length ? { below: below.map((d) => d.sha256) } : {}),
        ...(records && statusAbove ? { statusAbove } : {}),
      };
      return {
        name: layerName,
        kind: 'system',
        inputs,
        fingerprint: fingerprint(inputs),
        createdBy: `shale: ${layerName}: ${own.map((d) => `${d.name}=${d.version}`).join(' ')}`,
        weight: own.reduce((n, d) => n + d.size, 0),
        entries: async (): Promise<Entry[]> => {
          const entries = dataEntries(await mapLimit(own, 4, open), rootLinks);
          if (records)
            entries.push(...(await this.records(name, await mapLimit(sorted, 4, open), await mapLimit(below, 4, open), system, statusAbove, entries)));
          return entries;
        },
      };
    };
    return [...(all.length ? [layer(`${name}-all`, all, false)] : []), layer(name, native, true)];
  }

  /**
   * What dpkg and the maintainer scripts would have left of `every` (one system layer's packages)
   * over `below` (the lower layers'): dpkg's records, and the alternatives the postinst scripts
   * would have registered (automatic mode). Says which scripts were not run and what that leaves undone.
   */
  private async records(
    name: string,
    every: LaidPackage[],
    below: LaidPackage[],
    system: BaseSystem,
    statusAbove: boolean,
    taken: readonly Entry[],
  ): Promise<Entry[]> {
    const out = dpkgEntries(
      every,
      system.status === undefined ? { rootLinks: system.rootLinks } : { status: system.status, rootLinks: system.rootLinks, statusAbove },
      below,
    );
    const paths = new Set(dataEntries([...below, ...every], system.rootLinks).map((e) => e.path));
    const used = new Set([...taken, ...out].map((e) => e.path));
    const calls = every.flatMap((p) => installCalls(p.contents.control.get('postinst')?.toString('utf8') ?? ''));
    out.push(...alternativeEntries(calls, (path) => paths.has(throughLinks(path, system.rootLinks) ?? path)).filter((e) => !used.has(e.path)));
    const notes = every.flatMap((p) => scriptNotes(p.name, p.contents.control));
    if (notes.length) {
      const where = name === SYSTEM_LAYER ? 'system packages' : `system packages (layer ${name})`;
      this.ctx.events({ type: 'log', level: 'warn', message: `${where}: maintainer scripts are not run; ${notes.join('; ')}` });
    }
    return out;
  }
}

/** The sources to use as written: `apt-sources` (one-line entries), else the base's lists (deb822 `.sources` too). */
function parsedSources(req: SystemRequest, system: BaseSystem): AptSource[] {
  try {
    return req.aptSources !== undefined
      ? req.aptSources.flatMap((line, i) => parseSourcesList(line, `${req.configFile}: apt-sources[${i}]`))
      : Object.entries(system.sourceLists).flatMap(([path, text]) =>
          path.endsWith('.sources') ? parseDeb822Sources(text, path) : parseSourcesList(text, path),
        );
  } catch (err) {
    throw new InputError('SHALE_APT_SOURCES', `${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The root links an architecture-independent layer goes through (see planLayers). */
function sharedLinks(links: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(links).filter(([k]) => k === 'bin' || k === 'sbin' || k === 'lib'));
}

/** The pins of a resolution, for system layer `layer`. */
export function pinsOf(r: Resolution, layer: string): PinnedDeb[] {
  return r.install.map(({ pkg }) => pin(pkg, layer));
}

const byName = (debs: readonly PinnedDeb[]): PinnedDeb[] => [...debs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

function pin(p: DebPackage, layer: string): PinnedDeb {
  if (!p.sha256 || !p.filename)
    throw new ShaleError(
      'SHALE_DEBIAN_INTEGRITY',
      `the index lists ${p.name} ${p.version} without a SHA256 or Filename; shale installs only what a signed index vouches for`,
    );
  return { name: p.name, version: p.version, architecture: p.architecture, filename: p.filename, sha256: p.sha256, size: p.size, uri: p.uri, layer };
}
