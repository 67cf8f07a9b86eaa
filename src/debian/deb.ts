/**
 * Reading a .deb (deb(5)): an `ar` archive of `debian-binary`, `control.tar[.gz|.xz|.zst]`
 * and `data.tar[.gz|.xz|.zst]`. The control member gives the package's control file, md5sums,
 * conffiles and maintainer scripts; the data member the files dpkg would unpack. In memory: a
 * package is a few megabytes, rarely more than a hundred.
 */
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { compressionOf, decompress } from './decompress.js';

/** One entry of a package's data.tar, its path relative to the root ("usr/bin/curl"). */
export type DataEntry =
  | { type: 'file'; path: string; mode: number; uid: number; gid: number; data: Buffer }
  | { type: 'dir'; path: string; mode: number; uid: number; gid: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'hardlink'; path: string; target: string };

/** A .deb opened: its control files by name ("control", "md5sums", "postinst", ...) and its data entries in tar order. */
export interface DebContents {
  control: Map<string, Buffer>;
  data: DataEntry[];
}

/** The members of an ar archive by name. */
export function arMembers(b: Buffer, what: string): Map<string, Buffer> {
  if (b.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new Error(`${what} is not a Debian package (no ar header)`);
  const out = new Map<string, Buffer>();
  let at = 8;
  while (at + 60 <= b.length) {
    const name = b
      .subarray(at, at + 16)
      .toString('latin1')
      .trim()
      .replace(/\/$/, '');
    const size = Number(
      b
        .subarray(at + 48, at + 58)
        .toString('latin1')
        .trim(),
    );
    if (!Number.isFinite(size) || at + 60 + size > b.length) throw new Error(`${what}: a damaged ar member "${name}"`);
    out.set(name, b.subarray(at + 60, at + 60 + size));
    at += 60 + size + (size % 2);
  }
  return out;
}

/** "./usr/bin/curl" → "usr/bin/curl"; "./" → "". */
const clean = (name: string): string =>
  name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');

async function readTar(b: Buffer, onEntry: (h: tar.Header, data: Buffer) => void): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      onEntry(entry.header, Buffer.concat(parts));
    }
  })();
  Readable.from([b]).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
}

function member(members: Map<string, Buffer>, prefix: string, what: string): { name: string; bytes: Buffer } {
  for (const [name, bytes] of members) if (name === prefix || name.startsWith(`${prefix}.`)) return { name, bytes };
  throw new Error(`${what} has no ${prefix} member`);
}

/** Opens a .deb: control files and data entries. `what` names it in errors. */
export async function readDeb(b: Buffer, what: string): Promise<DebContents> {
  const members = arMembers(b, what);
  const control = new Map<string, Buffer>();
  const ctl = member(members, 'control.tar', what);
  await readTar(await decompress(ctl.bytes, compressionOf(ctl.name)), (h, data) => {
    if (h.type === 'file') control.set(clean(h.name), data);
  });
  const data: DataEntry[] = [];
  const dt = member(members, 'data.tar', what);
  await readTar(await decompress(dt.bytes, compressionOf(dt.name)), (h, body) => {
    const path = clean(h.name);
    if (!path) return;
    const mode = h.mode ?? 0o644;
    const ids = { uid: h.uid ?? 0, gid: h.gid ?? 0 };
    if (h.type === 'file' || h.type === 'contiguous-file') data.push({ type: 'file', path, mode, ...ids, data: body });
    else if (h.type === 'directory') data.push({ type: 'dir', path, mode, ...ids });
    else if (h.type === 'symlink') data.push({ type: 'symlink', path, target: h.linkname ?? '' });
    else if (h.type === 'link') data.push({ type: 'hardlink', path, target: clean(h.linkname ?? '') });
    // Device nodes and fifos are not shipped by packages a service installs; skipped.
  });
  return { control, data };
}
