/**
 * Unpacks a source distribution (.tar.gz / .tgz / .zip) into a fresh directory without a shell
 * and without trusting its member names: a member that is absolute, has a `..` component, or
 * would be written through (or is) a symlink pointing outside the directory is refused, so a
 * hostile sdist cannot write anywhere but its own temp dir (tar-slip / zip-slip).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { InputError } from '../errors.js';
import { unsafeMemberName } from './zip.js';

/** More than any real sdist unpacks to; stops a compression bomb from filling the disk. */
const MAX_BYTES = 2 * 1024 ** 3;

/** Whether `filename` is an sdist format shale can unpack. */
export function canExtractSdist(filename: string): boolean {
  return /\.(tar\.gz|tgz|zip)$/i.test(filename);
}

function unsafe(archive: string, member: string, why: string): InputError {
  return new InputError(
    'SHALE_SDIST_UNSAFE_PATH',
    `source distribution ${archive} has a member "${member}" that ${why}, which would write outside the directory it is unpacked in; refusing to unpack it. Use an sdist from a trusted source, or a wheel`,
  );
}

/** Writes members under one root, checking every name, and never through a symlink it made. */
class Unpacker {
  private readonly links = new Set<string>();
  private bytes = 0;
  constructor(
    private readonly root: string,
    private readonly archive: string,
  ) {}

  /** The member's normalized relative path, or undefined for the archive root itself ("./"). */
  private check(name: string): string | undefined {
    const why = unsafeMemberName(name);
    if (why) throw unsafe(this.archive, name, why);
    const rel = posix.normalize(name).replace(/\/+$/, '');
    if (rel === '.' || rel === '') return undefined;
    // A path through a symlink this archive made could land anywhere the link points.
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.links.has(prefix)) throw unsafe(this.archive, name, `goes through the symlink "${prefix}"`);
    }
    return rel;
  }

  private counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.bytes += chunk.length;
        if (this.bytes > MAX_BYTES)
          cb(new InputError('SHALE_SDIST_TOO_LARGE', `source distribution ${this.archive} unpacks to more than ${MAX_BYTES} bytes; refusing to unpack it`));
        else cb(null, chunk);
      },
    });
  }

  async dir(name: string): Promise<void> {
    const rel = this.check(name);
    if (rel !== undefined) await mkdir(join(this.root, rel), { recursive: true });
  }

  async file(name: string, data: AsyncIterable<Uint8Array>, mode: number): Promise<void> {
    const rel = this.check(name);
    if (rel === undefined) throw unsafe(this.archive, name, 'names the archive root as a file');
    const path = join(this.root, rel);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { recursive: true, force: true });
    // `wx`: never follow or reuse whatever is at the path.
    await pipeline(data, this.counter(), createWriteStream(path, { flags: 'wx', mode: mode & 0o111 ? 0o755 : 0o644 }));
  }

  async symlink(name: string, target: string): Promise<void> {
    const rel = this.check(name);
    if (rel === undefined) throw unsafe(this.archive, name, 'names the archive root as a symlink');
    if (target.startsWith('/') || target.includes('\\') || target.includes('\0')) throw unsafe(this.archive, name, `is a symlink to "${target}"`);
    const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
    if (resolved === '..' || resolved.startsWith('../')) throw unsafe(this.archive, name, `is a symlink to "${target}", outside the archive`);
    const path = join(this.root, rel);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { recursive: true, force: true });
    await symlink(target, path);
    this.links.add(rel);
  }

  /** A tar hard link: a copy of a file unpacked earlier (the link name is checked like any name). */
  async hardlink(name: string, target: string): Promise<void> {
    const rel = this.check(name);
    const from = this.check(target);
    if (rel === undefined || from === undefined) throw unsafe(this.archive, name, `is a hard link to "${target}"`);
    const path = join(this.root, rel);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { recursive: true, force: true });
    await copyFile(join(this.root, from), path);
  }
}

async function extractTarGz(archive: string, u: Unpacker): Promise<void> {
  const ex = tar.extract();
  const feeding = pipeline(createReadStream(archive), createGunzip(), ex);
  feeding.catch(() => undefined); // a read or gunzip error also ends the iteration below, which reports it
  for await (const entry of ex) {
    const h = entry.header;
    if (h.type === 'file' || h.type === 'contiguous-file') await u.file(h.name, entry as AsyncIterable<Uint8Array>, h.mode);
    else {
      if (h.type === 'directory') await u.dir(h.name);
      else if (h.type === 'symlink') await u.symlink(h.name, h.linkname);
      else if (h.type === 'link') await u.hardlink(h.name, h.linkname);
      // Devices and FIFOs have no place in an sdist: skipped, as pip's own unpacking does.
      entry.resume();
    }
  }
  await feeding;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

async function readAll(s: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** yauzl's own name checks (it refuses these before the Unpacker sees them). */
const YAUZL_UNSAFE_RE = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s;

async function extractZip(archive: string, label: string, u: Unpacker): Promise<void> {
  const zip = await yauzl.openPromise(archive, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true });
  try {
    for await (const e of zip.eachEntry()) {
      const attrs = e.externalFileAttributes >>> 16;
      if (e.fileName.endsWith('/')) await u.dir(e.fileName);
      else if ((attrs & S_IFMT) === S_IFLNK) await u.symlink(e.fileName, await readAll(await zip.openReadStreamPromise(e)));
      else await u.file(e.fileName, await zip.openReadStreamPromise(e), attrs & 0o777);
    }
  } catch (err) {
    const m = err instanceof Error && !(err instanceof InputError) ? YAUZL_UNSAFE_RE.exec(err.message) : null;
    if (m)
      throw unsafe(
        label,
        m[2] ?? '',
        m[1] === 'absolute path' ? 'is an absolute path' : m[1] === 'invalid relative path' ? 'contains ".."' : 'has invalid characters',
      );
    throw err;
  } finally {
    zip.close();
  }
}

/**
 * Unpacks the sdist at `archive` into `dest` (created) and returns the project directory: the
 * archive's single top-level directory (`name-version/`), or `dest` when it has several.
 * `label` names the sdist in errors. Unsafe members fail the whole unpack with an InputError.
 */
export async function extractSdist(archive: string, dest: string, label: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const u = new Unpacker(dest, label);
  try {
    if (/\.zip$/i.test(label)) await extractZip(archive, label, u);
    else await extractTarGz(archive, u);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('SHALE_BAD_SDIST', `cannot unpack source distribution ${label}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const top = await readdir(dest, { withFileTypes: true });
  const only = top.length === 1 ? top[0] : undefined;
  return only?.isDirectory() ? join(dest, only.name) : dest;
}
