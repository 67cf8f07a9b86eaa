/**
 * Reading wheels (zip files): the central directory once with yauzl, and members lazily
 * (zip-member.ts), so an Entry can stream its bytes long after installation planned it.
 */
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { InputError } from '../errors.js';
import { readMemberStream } from './zip-member.js';

/** One member of a zip, from its central directory record. */
export interface ZipMember {
  name: string;
  isDir: boolean;
  /** Uncompressed size. */
  size: number;
  /** Unix permission bits from the external attributes (0 when the zip was made without them). */
  mode: number;
  /** yauzl's record; it locates the member's data in the file. */
  entry: yauzl.Entry;
}

const UNSAFE_RE = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s;

/** The reason a member name could escape the install directory, or undefined when it is safe. */
export function unsafeMemberName(name: string): string | undefined {
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'is an absolute path';
  if (name.split('/').includes('..')) return 'contains ".."';
  if (name.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

function unsafeError(wheel: string, member: string, why: string): InputError {
  return new InputError(
    'SHALE_WHEEL_UNSAFE_PATH',
    `wheel ${wheel} has a member "${member}" that ${why}, which would write outside the install directory; refusing to install it. Use a wheel from a trusted build`,
  );
}

/** Lists a wheel's members. Names that would escape the install directory (zip-slip) are refused. */
export async function readZipIndex(path: string, wheelName: string): Promise<ZipMember[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: true });
  } catch (err) {
    throw new InputError('SHALE_BAD_WHEEL', `cannot read wheel ${wheelName} (${path}) as a zip file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const out: ZipMember[] = [];
  try {
    for await (const e of zip.eachEntry()) {
      const why = unsafeMemberName(e.fileName);
      if (why) throw unsafeError(wheelName, e.fileName, why);
      const isDir = e.fileName.endsWith('/');
      out.push({ name: isDir ? e.fileName.slice(0, -1) : e.fileName, isDir, size: e.uncompressedSize, mode: (e.externalFileAttributes >>> 16) & 0o777, entry: e });
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const m = err instanceof Error ? UNSAFE_RE.exec(err.message) : null;
    if (m) throw unsafeError(wheelName, m[2] ?? '', m[1] === 'absolute path' ? 'is an absolute path' : m[1] === 'invalid relative path' ? 'contains ".."' : 'contains a backslash');
    throw new InputError('SHALE_BAD_WHEEL', `cannot read wheel ${wheelName} (${path}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    zip.close();
  }
  return out;
}

/**
 * Opens one member's uncompressed bytes (zip-member.ts). The file stays open for the next member
 * (a layer reads a wheel's members one after another): re-opening it per member cost a file open
 * and a stat each, which dominated installing wheels with thousands of files.
 */
export function openMember(path: string, entry: yauzl.Entry): Promise<Readable> {
  return readMemberStream(path, entry);
}

/** Reads a member fully into memory (for small metadata files). */
export async function readMember(path: string, entry: yauzl.Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await openMember(path, entry)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
