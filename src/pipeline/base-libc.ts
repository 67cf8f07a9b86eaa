/**
 * The C library of a base image, for wheel choice: from `libc` in [tool.shale], else what an
 * earlier build learned about the same base manifest (the local cache, or the annotation on the
 * previous image in the push target), else read from the base's layers. A fresh CI runner whose
 * registry holds the previous push so never downloads base layers.
 */
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Events } from '../events.js';
import { detectLibc, formatLibc, parseLibc, type Libc } from '../python/libc.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { BaseImage } from './assemble.js';

/** Manifest annotation recording the base's C library ("glibc 2.36"), read back by later builds. */
export const BASE_LIBC_ANNOTATION = 'dev.shale.base.libc';

const cacheFile = (cacheDir: string, baseDigest: string): string => join(cacheDir, 'libc', `${baseDigest.replace(':', '-')}.json`);

/** The C library recorded locally for a base manifest digest, if any. */
export async function readCachedLibc(cacheDir: string, baseDigest: string): Promise<Libc | undefined> {
  try {
    const raw: unknown = JSON.parse(await readFile(cacheFile(cacheDir, baseDigest), 'utf8'));
    if (typeof raw === 'object' && raw !== null && 'libc' in raw && typeof raw.libc === 'string') return parseLibc(raw.libc);
  } catch {
    // No record, or an unreadable one: detect again.
  }
  return undefined;
}

/** Records the C library of a base manifest digest (atomically; a failure to write is not an error). */
export async function writeCachedLibc(cacheDir: string, baseDigest: string, libc: Libc): Promise<void> {
  try {
    await mkdir(join(cacheDir, 'libc'), { recursive: true });
    await writeFileAtomic(cacheFile(cacheDir, baseDigest), JSON.stringify({ libc: formatLibc(libc) }));
  } catch {
    // The cache only saves work.
  }
}

/** Where the libc of a base can come from besides the config and its layers. */
export interface LibcSources {
  cacheDir: string;
  /** Skip the local record (--no-cache); a registry record is then absent too. */
  noCache: boolean;
  /** Base manifest digest → "glibc 2.36", from `dev.shale.base.libc` on earlier images. */
  fromRegistry: ReadonlyMap<string, string>;
  events: Events;
  /** False when no wheel will be chosen (no lock): then the layers are not read for it. */
  needed: boolean;
}

/** Detections in flight, by base digest, so platforms sharing a base (or concurrent asks) read it once. */
const inflight = new Map<string, Promise<Libc>>();

/**
 * The C library to choose wheels for on `base`: `configured` (the `libc` key) wins; then the local
 * record and the registry annotation for the base's manifest digest; then, when `needed`, the
 * base's layers are streamed from the top down until libc is found (nothing is written to disk
 * but the record). Undefined only when not needed and not known without reading layers.
 */
export async function baseLibc(base: BaseImage, configured: Libc | undefined, src: LibcSources): Promise<Libc | undefined> {
  if (configured) return configured;
  if (!src.noCache) {
    const cached = await readCachedLibc(src.cacheDir, base.digest);
    if (cached) return cached;
    const remote = src.fromRegistry.get(base.digest);
    const parsed = remote === undefined ? undefined : parseLibc(remote);
    if (parsed) {
      await writeCachedLibc(src.cacheDir, base.digest, parsed);
      return parsed;
    }
  }
  if (!src.needed) return undefined;
  let p = inflight.get(base.digest);
  if (!p) {
    src.events({ type: 'step', step: 'reading the base image C library', detail: base.name });
    p = detectLibc(
      base.layers.map((l) => ({ mediaType: l.descriptor.mediaType, open: () => l.open() })),
      `base image ${base.name} (${base.digest})`,
    );
    inflight.set(base.digest, p);
    p.then(
      () => inflight.delete(base.digest),
      () => inflight.delete(base.digest),
    );
  }
  const libc = await p;
  src.events({ type: 'log', level: 'debug', message: `base image ${base.name}: ${formatLibc(libc)}` });
  await writeCachedLibc(src.cacheDir, base.digest, libc);
  return libc;
}
