/**
 * The C library of a base image (glibc or musl, and its version), which decides the manylinux /
 * musllinux wheels that run there (docs/design.md, "Flow of `shale build`", step 2): its config
 * form, and how its files tell it ({@link LibcProbe}, fed by the base scan in `scan.ts`).
 */
import { InputError } from '../errors.js';
import type { LayerBlob, TarEntry } from '../layer/read-entries.js';
import { scanLayers, type Probe } from './scan.js';

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
export interface LibcFinding {
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
export function libcFromBytes(path: string, bytes: Buffer): LibcFinding | undefined {
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
export function glibcOfDebian(text: string): LibcFinding | undefined {
  const minor = DEBIAN_GLIBC[/^(\d+)(\.|\s*$)/.exec(text.trim())?.[1] ?? ''];
  return minor === undefined ? undefined : { libc: { kind: 'glibc', version: [2, minor] }, certain: true };
}

/** C library files are a few MB; anything far bigger at such a path is not one. */
const MAX_LIBC_BYTES = 32 << 20;

/**
 * Looks for the C library in a scan: /etc/debian_version of a stable Debian release, libc.so.6,
 * the loader, or ld-musl. Within a layer the first certain finding ends the search; else the
 * best lower bound of the layer is kept. From the top down, the first certain finding is the
 * answer; without one, the bound of the uppermost layer that had any.
 */
export class LibcProbe implements Probe {
  private found: Libc | undefined;
  private bound: LibcFinding | undefined;
  private layerBest: LibcFinding | undefined;

  get done(): boolean {
    return this.found !== undefined;
  }

  wants(e: TarEntry): 'bytes' | 'header' | undefined {
    if (e.type === 'file' && e.path === '/etc/debian_version' && e.size < 256) return 'bytes';
    if (e.type === 'file' && e.size <= MAX_LIBC_BYTES && isLibcPath(e.path)) return 'bytes';
    // Before glibc 2.34 the link's target names the version: no need for its bytes.
    if (e.type === 'symlink' && /libc\.so\.6$/.test(e.path) && /libc-2\.\d+\.so$/.test(e.linkname ?? '')) return 'header';
    return undefined;
  }

  see(e: TarEntry, bytes: Buffer | undefined): void {
    const f =
      e.path === '/etc/debian_version'
        ? glibcOfDebian((bytes ?? Buffer.alloc(0)).toString('utf8'))
        : e.type === 'symlink'
          ? libcFromBytes(e.linkname ?? '', Buffer.alloc(0))
          : libcFromBytes(e.path, bytes ?? Buffer.alloc(0));
    if (!f) return;
    if (f.certain) this.found = f.libc;
    else if (!this.layerBest || f.libc.version[1] > this.layerBest.libc.version[1]) this.layerBest = f;
  }

  endLayer(): void {
    this.bound ??= this.layerBest;
    this.layerBest = undefined;
  }

  /** The C library found, or the best lower bound; undefined when no layer had one. */
  result(): Libc | undefined {
    return this.found ?? this.bound?.libc;
  }
}

/** The error for a base without a C library shale can read: set `libc` in [tool.shale]. */
export function libcUnknown(what: string): InputError {
  return new InputError(
    'SHALE_LIBC_UNKNOWN',
    `${what} has no C library shale can read (no libc.so.6, ld-linux*.so* or ld-musl-*.so.1 in its layers), so it cannot tell which manylinux/musllinux wheels run there; set libc = "glibc 2.36" (or "musl 1.2", the base's C library) in [tool.shale]`,
  );
}

/**
 * The C library of an image from its layers alone (bottom first, as in the manifest), read from
 * the top down and only until it is known. `what` names the image for the error that says to
 * set `libc` in [tool.shale] when no layer holds a C library.
 */
export async function detectLibc(layers: readonly LayerBlob[], what: string): Promise<Libc> {
  const probe = new LibcProbe();
  await scanLayers(layers, [probe]);
  const libc = probe.result();
  if (!libc) throw libcUnknown(what);
  return libc;
}
