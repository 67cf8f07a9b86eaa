import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline as pipeStreams, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { ShaleError } from '../errors.js';
import { digestHex } from '../oci/digest.js';
import type { Descriptor, Digest } from '../oci/types.js';
import { verifyingStream } from '../store/verifying-stream.js';
import { readAll, type BlobSource } from './blob-source.js';

/** Entries up to this size are kept in memory by a scan (manifests, configs, small layers). */
const KEEP_IN_MEMORY = 4 * 1024 * 1024;

/** A regular file inside a tar archive, located well enough to read it again without a scan. */
export interface TarFile {
  name: string;
  /** Where the content starts in the archive. */
  start: number;
  size: number;
  digest: Digest;
  /** The content, when it is small. */
  bytes?: Buffer;
}

/**
 * Reads a tar archive once and returns its regular files by normalized name ("./a/b" → "a/b"),
 * each with its digest and position; links resolve to the file they point at (old `docker
 * save` archives link duplicate layers). Small files come with their content.
 */
export async function scanTar(file: string): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const links = new Map<string, string>();
  const extract = tarExtract();
  const feeding = pipeline(createReadStream(file), extract);
  feeding.catch(() => undefined); // a read error also ends the iteration below, which reports it
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const name = normalize(header.name);
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        for await (const chunk of entry) {
          const b = chunk as Buffer;
          hash.update(b);
          if (header.size <= KEEP_IN_MEMORY) chunks.push(b);
        }
        // tar-stream's offset is that of the entry's own header (after any PAX header); data follows it.
        const f: TarFile = { name, start: entry.offset + 512, size: header.size, digest: `sha256:${hash.digest('hex')}` };
        if (header.size <= KEEP_IN_MEMORY) f.bytes = Buffer.concat(chunks);
        files.set(name, f);
      } else {
        if (header.type === 'symlink') links.set(name, normalize(posix.join(posix.dirname(name), header.linkname)));
        if (header.type === 'link') links.set(name, normalize(header.linkname));
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    throw new ShaleError('SHALE_BAD_TAR', `${file} is not a readable tar archive: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  for (const [name, target] of links) {
    const f = files.get(target);
    if (f && !files.has(name)) files.set(name, f);
  }
  return files;
}

/** Opens one file of an archive found by {@link scanTar}; the stream errors if its content changed. */
export function openTarFile(archive: string, f: TarFile): Readable {
  const verify = verifyingStream(
    f.digest,
    `${f.name} in ${archive}`,
    'the archive changed while shale read it; run again, and write the archive anew if this repeats',
    f.size,
  );
  if (f.size === 0) {
    verify.end();
    return verify;
  }
  return pipeStreams(createReadStream(archive, { start: f.start, end: f.start + f.size - 1 }), verify, () => undefined);
}

function normalize(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
}

/** The blobs of an archive that is also an OCI layout, by digest at `blobs/sha256/<hex>`. */
export function tarBlobSource(archive: string, files: Map<string, TarFile>): BlobSource {
  const find = (d: Digest): TarFile => {
    const f = files.get(`blobs/sha256/${digestHex(d)}`);
    if (!f) throw new ShaleError('SHALE_BLOB_NOT_FOUND', `blob ${d} is not in ${archive}.`);
    if (f.digest !== d) throw new ShaleError('SHALE_BLOB_CORRUPT', `${f.name} in ${archive} is corrupt: it hashes to ${f.digest}.`);
    return f;
  };
  const bytes = async (d: Descriptor): Promise<Buffer> => {
    const f = find(d.digest);
    return f.bytes ?? readAll(openTarFile(archive, f));
  };
  return { where: `tarball ${archive}`, manifest: bytes, bytes, open: async (d) => openTarFile(archive, find(d.digest)) };
}
