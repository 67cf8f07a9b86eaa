/**
 * The C library of a base image (glibc or musl, and its version), which decides the manylinux /
 * musllinux wheels that run there (docs/design.md, "Python packages in the image"). Read from the
 * base's own layers, streamed top layer first, and only until the library is found.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { InputError } from '../errors.js';

/** A C library kind and its major.minor version, as wheel tags need it. */
export interface Libc {
  kind: 'glibc' | 'musl';
  version: [number, number];
}

/** musl does not say its version in a way every build keeps; 1.2 is every current distribution's. */
export const DEFAULT_MUSL: [number, number] = [1, 2];

/** A placeholder for targets that choose no wheel (an app without a lock): it decides nothing. */
export const UNUSED_LIBC: Libc = { kind: 'glibc', version: [2, 17] };

/** "glibc 2.36", the form of the `libc` config key and of the `dev.shale.base.libc` annotation. */
export function formatLibc(l: Libc): string {
  return `${l.kind} ${l.version.join('.')}`;
}

/** Parses "glibc 2.36" / "musl 1.2" (a patch level is allowed and dropped); undefined when malformed. */
export function parseLibc(text: string): Libc | undefined {
  const m = /^\s*(glibc|musl)\s+(\d+)\.(\d+)(?:\.\d+)?\s*$/.exec(text);
  if (!m) return undefined;
  return { kind: m[1] === 'musl' ? 'musl' : 'glibc', version: [Number(m[2]), Number(m[3])] };
}

/** What a file tells about the C library, and whether that is the whole answer. */
interface Finding {
  libc: Libc;
  /** The release string (or a versioned file name) says it; version symbols only bound it from below. */
  certain: boolean;
}

const LIB_DIR = String.raw`(?:^|/)(?:usr/)?lib(?:32|64|x32)?(?:/[^/]+)?/`;
/** glibc's loader and libc (since 2.34 real files; before, `libc.so.6` links to `libc-2.NN.so`). */
const GLIBC_FILE = new RegExp(`${LIB_DIR}(?:libc\\.so\\.6|libc-2\\.\\d+\\.so|ld-linux[^/]*\\.so[^/]*)$`);
/** musl's one file, the loader and libc at once (`libc.musl-*.so.1` links to it on Alpine). */
const MUSL_FILE = new RegExp(`${LIB_DIR}(?:ld-musl-[^/]+\\.so\\.1|libc\\.musl-[^/]+\\.so\\.1)$`);

/** Whether a path in a layer may be the C library (and so is worth reading). */
export function isLibcPath(path: string): 'glibc' | 'musl' | undefined {
  const p = path.replace(/^\.?\/+/, '');
  if (GLIBC_FILE.test(p)) return 'glibc';
  if (MUSL_FILE.test(p)) return 'musl';
  return undefined;
}

/**
 * What the bytes of a C library file say: for glibc the "GNU C Library ... release version 2.NN"
 * banner, else the highest `GLIBC_2.NN` version symbol (a lower bound); for musl a NUL-framed
 * "1.N.N" version string, else {@link DEFAULT_MUSL}. Undefined when the file says nothing.
 */
export function libcFromBytes(path: string, bytes: Buffer): Finding | undefined {
  const kind = isLibcPath(path);
  const text = bytes.toString('latin1');
  if (kind === 'musl') {
    const v = /\0(1)\.(\d+)\.\d+\0/.exec(text);
    return { libc: { kind: 'musl', version: v ? [1, Number(v[2])] : DEFAULT_MUSL }, certain: v !== null };
  }
  const named = /libc-2\.(\d+)\.so$/.exec(path);
  if (named) return { libc: { kind: 'glibc', version: [2, Number(named[1])] }, certain: true };
  const banner = /release version 2\.(\d+)/.exec(text);
  if (banner) return { libc: { kind: 'glibc', version: [2, Number(banner[1])] }, certain: true };
  let best = -1;
  for (const m of text.matchAll(/GLIBC_2\.(\d+)/g)) best = Math.max(best, Number(m[1]));
  return best >= 0 ? { libc: { kind: 'glibc', version: [2, best] }, certain: false } : undefined;
}

/**
 * glibc of each Debian release: a stable release never changes its glibc's version, so
 * /etc/debian_version ("12.5"), early in a root file system's tar, tells it without reading on
 * to libc.so.6 near the end (most of the base layer).
 */
const DEBIAN_GLIBC: Readonly<Record<string, number>> = { '10': 28, '11': 31, '12': 36, '13': 41 };

/** The glibc a Debian release ships, from /etc/debian_version's text; undefined for testing/sid or unknown releases. */
export function glibcOfDebian(text: string): Finding | undefined {
  const minor = DEBIAN_GLIBC[/^(\d+)(\.|\s*$)/.exec(text.trim())?.[1] ?? ''];
  return minor === undefined ? undefined : { libc: { kind: 'glibc', version: [2, minor] }, certain: true };
}

/** C library files are a few MB; anything far bigger at such a path is not one. */
const MAX_LIBC_BYTES = 32 << 20;

/** A compressed layer, opened on demand. */
export interface LayerSourceForLibc {
  mediaType: string;
  open(): Promise<Readable>;
}

function decompressor(mediaType: string): NodeJS.ReadWriteStream | undefined | 'unsupported' {
  if (/gzip/.test(mediaType)) return createGunzip();
  if (/zstd/.test(mediaType)) return 'unsupported';
  return undefined;
}

/**
 * Reads one layer (a tar, gzip-compressed or not) for C library files, or /etc/debian_version of a
 * stable Debian release (which fixes its glibc). Stops the download as soon
 * as a certain finding is read; otherwise reads the whole layer and returns the best lower bound.
 */
export async function scanLayerForLibc(layer: LayerSourceForLibc): Promise<Finding | undefined> {
  const dec = decompressor(layer.mediaType);
  if (dec === 'unsupported') return undefined;
  const src = await layer.open();
  const extract = tarExtract();
  const feeding = dec ? pipeline(src, dec, extract) : pipeline(src, extract);
  // Stopping early destroys the streams; that "error" is the point, and any other surfaces below.
  feeding.catch(() => undefined);
  let best: Finding | undefined;
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const name = posix.normalize(header.name);
      if (header.type === 'file' && name === 'etc/debian_version' && header.size < 256) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const f = glibcOfDebian(Buffer.concat(chunks).toString('utf8'));
        if (f) {
          best = f;
          break;
        }
      } else if ((header.type === 'file' || header.type === 'contiguous-file') && header.size <= MAX_LIBC_BYTES && isLibcPath(name)) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const f = libcFromBytes(name, Buffer.concat(chunks));
        if (f?.certain) {
          best = f;
          break;
        }
        if (f && (!best || f.libc.version[1] > best.libc.version[1])) best = f;
      } else if (header.type === 'symlink' && /libc\.so\.6$/.test(name) && /libc-2\.\d+\.so$/.test(header.linkname ?? '')) {
        // Before glibc 2.34 the link's target names the version: no need for its bytes.
        const f = libcFromBytes(header.linkname ?? '', Buffer.alloc(0));
        if (f) {
          best = f;
          entry.resume();
          break;
        }
      } else {
        entry.resume();
      }
    }
  } finally {
    src.destroy();
    extract.destroy();
  }
  return best;
}

/**
 * The C library of an image from its layers (bottom first, as in the manifest), read from the top
 * down since a later layer's file wins. `what` names the image for the error that says to set
 * `libc` in [tool.shale] when no layer holds a C library.
 */
export async function detectLibc(layers: readonly LayerSourceForLibc[], what: string): Promise<Libc> {
  let bound: Finding | undefined;
  for (const layer of [...layers].reverse()) {
    const f = await scanLayerForLibc(layer);
    if (f?.certain) return f.libc;
    bound ??= f;
  }
  if (bound) return bound.libc;
  throw new InputError(
    'SHALE_LIBC_UNKNOWN',
    `${what} has no C library shale can read (no libc.so.6, ld-linux*.so* or ld-musl-*.so.1 in its layers), so it cannot tell which manylinux/musllinux wheels run there; set libc = "glibc 2.36" (or "musl 1.2", the base's C library) in [tool.shale]`,
  );
}
