/**
 * The system-packages lock: `system-packages.lock.toml` beside the Python lock, written by
 * `shale lock`. Per platform, every .deb a resolution chose (name, version, architecture,
 * filename, sha256, size, the source it came from, and its system layer when that is a
 * `[[layers]]` entry's) and the base it was resolved on. A build
 * with the lock installs exactly those .debs, checked by their sha256, without reading any
 * index; so an archive that moved on changes nothing, and one that dropped a file is an error
 * naming the file and the way out (a snapshot of the archive).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { InputError } from '../errors.js';
import type { PinnedDeb } from './install.js';
import { SYSTEM_LAYER, type SystemGroup } from '../config/spec.js';

export const SYSTEM_LOCK = 'system-packages.lock.toml';

/** One platform's pins. */
export interface LockedPlatform {
  platform: string;
  /** The base's manifest digest for that platform when it was locked. */
  base: string;
  packages: PinnedDeb[];
}

export interface SystemLock {
  /** The system layers' packages the lock was made for, as written in the config, lowest first. */
  request: SystemGroup[];
  platforms: LockedPlatform[];
}

/** The lock's text: stable (sorted) so an unchanged resolution gives the same bytes. */
export function formatSystemLock(lock: SystemLock): string {
  // The top-level system-packages as `request`; `[[layers]]` entries' as [[layer]] tables.
  const top = lock.request[0]?.name === SYSTEM_LAYER ? lock.request[0] : undefined;
  const layers = lock.request.filter((g) => g !== top);
  const body = {
    version: 1,
    request: top?.packages ?? [],
    ...(layers.length ? { layer: layers.map((g) => ({ name: g.name, request: g.packages })) } : {}),
    platform: [...lock.platforms]
      .sort((a, b) => (a.platform < b.platform ? -1 : 1))
      .map((p) => ({
        platform: p.platform,
        base: p.base,
        package: [...p.packages]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((d) => ({
            name: d.name,
            version: d.version,
            architecture: d.architecture,
            filename: d.filename,
            sha256: d.sha256,
            size: d.size,
            uri: d.uri,
            ...(d.layer === SYSTEM_LAYER ? {} : { layer: d.layer }),
          })),
      })),
  };
  return `# Written by \`shale lock\`: the Debian packages of system-packages, per platform. Builds install exactly these.\n${stringify(body)}\n`;
}

const str = (v: unknown): v is string => typeof v === 'string';

/** Reads the lock in `projectDir`, or undefined when there is none. A damaged lock is an error naming it. */
export async function readSystemLock(projectDir: string): Promise<SystemLock | undefined> {
  const file = join(projectDir, SYSTEM_LOCK);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const bad = (why: string): InputError => new InputError('SHALE_SYSTEM_LOCK', `${file}: ${why}; run \`shale lock\` to write it again`);
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw bad(`not valid TOML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every(str);
  if (doc['version'] !== 1 || !strings(doc['request']) || !Array.isArray(doc['platform'])) throw bad('not a system-packages lock of version 1');
  const layers = (doc['layer'] ?? []) as unknown[];
  if (!Array.isArray(layers)) throw bad('`layer` is not a list of [[layer]] tables');
  const request: SystemGroup[] = doc['request'].length ? [{ name: SYSTEM_LAYER, packages: doc['request'] }] : [];
  for (const raw of layers) {
    const l = raw as Record<string, unknown>;
    if (!str(l['name']) || !strings(l['request'])) throw bad('a [[layer]] without name or request');
    request.push({ name: l['name'], packages: l['request'] });
  }
  const platforms = (doc['platform'] as unknown[]).map((raw): LockedPlatform => {
    const p = raw as Record<string, unknown>;
    if (!str(p['platform']) || !str(p['base']) || !Array.isArray(p['package'])) throw bad('a [[platform]] without platform, base or package');
    const packages = (p['package'] as unknown[]).map((x): PinnedDeb => {
      const d = x as Record<string, unknown>;
      if (
        ![d['name'], d['version'], d['architecture'], d['filename'], d['sha256'], d['uri'], d['layer'] ?? SYSTEM_LAYER].every(str) ||
        typeof d['size'] !== 'number' ||
        !/^[0-9a-f]{64}$/.test(d['sha256'] as string)
      ) {
        throw bad(`a package entry of ${String(p['platform'])} is incomplete`);
      }
      return {
        name: d['name'] as string,
        version: d['version'] as string,
        architecture: d['architecture'] as string,
        filename: d['filename'] as string,
        sha256: d['sha256'] as string,
        size: d['size'],
        uri: d['uri'] as string,
        layer: (d['layer'] as string | undefined) ?? SYSTEM_LAYER,
      };
    });
    return { platform: p['platform'] as string, base: p['base'] as string, packages };
  });
  return { request, platforms };
}

/** Whether a lock was made for this request (the same layers in the same order, each with the same names in any order). */
export const lockMatches = (lock: SystemLock, request: readonly SystemGroup[]): boolean => {
  const key = (groups: readonly SystemGroup[]): string => JSON.stringify(groups.map((g) => [g.name, [...g.packages].sort()]));
  return key(lock.request) === key(request);
};
