/**
 * The system-packages lock: `system-packages.lock.toml` beside the Python lock, written by
 * `shale lock`. Per platform, every .deb a resolution chose (name, version, architecture,
 * filename, sha256, size, the source it came from) and the base it was resolved on. A build
 * with the lock installs exactly those .debs, checked by their sha256, without reading any
 * index; so an archive that moved on changes nothing, and one that dropped a file is an error
 * naming the file and the way out (a snapshot of the archive).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { InputError } from '../errors.js';
import type { PinnedDeb } from './install.js';

export const SYSTEM_LOCK = 'system-packages.lock.toml';

/** One platform's pins. */
export interface LockedPlatform {
  platform: string;
  /** The base's manifest digest for that platform when it was locked. */
  base: string;
  packages: PinnedDeb[];
}

export interface SystemLock {
  /** The `system-packages` the lock was made for, as written in the config. */
  request: string[];
  platforms: LockedPlatform[];
}

/** The lock's text: stable (sorted) so an unchanged resolution gives the same bytes. */
export function formatSystemLock(lock: SystemLock): string {
  const body = {
    version: 1,
    request: lock.request,
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
  if (doc['version'] !== 1 || !Array.isArray(doc['request']) || !doc['request'].every(str) || !Array.isArray(doc['platform']))
    throw bad('not a system-packages lock of version 1');
  const platforms = (doc['platform'] as unknown[]).map((raw): LockedPlatform => {
    const p = raw as Record<string, unknown>;
    if (!str(p['platform']) || !str(p['base']) || !Array.isArray(p['package'])) throw bad('a [[platform]] without platform, base or package');
    const packages = (p['package'] as unknown[]).map((x): PinnedDeb => {
      const d = x as Record<string, unknown>;
      if (
        ![d['name'], d['version'], d['architecture'], d['filename'], d['sha256'], d['uri']].every(str) ||
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
      };
    });
    return { platform: p['platform'] as string, base: p['base'] as string, packages };
  });
  return { request: doc['request'] as string[], platforms };
}

/** Whether a lock was made for this request (the same names, in any order). */
export const lockMatches = (lock: SystemLock, request: readonly string[]): boolean =>
  JSON.stringify([...lock.request].sort()) === JSON.stringify([...request].sort());
