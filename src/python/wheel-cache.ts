/**
 * Downloaded wheels kept by content: `<cache>/wheels/<sha256>/<filename>`. Files are written
 * to a temporary name and renamed into place, so readers (and a second shale process) never see
 * a partial file; a cached file is hashed again whenever it is used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ShaleError } from '../errors.js';
import { noEvents, type Events } from '../events.js';
import { InterruptedError } from '../http/errors.js';
import { defaultPackageHttp, failureText, redact, type PackageHttp } from './http.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { touch } from '../store/cache-prune.js';
import { hashFile } from '../store/file-hashes.js';
import { isDiskError, makeDir, writeFailure } from '../store/disk-errors.js';
import { liveTemp } from '../store/live-temps.js';

export { hashFile } from '../store/file-hashes.js';

/** The result of a download: the cached path and the hash of what arrived. */
export interface Downloaded {
  path: string;
  sha256: string;
  size: number;
  /** The response's `ETag` and `Last-Modified`, to tell later whether the URL still serves this file. */
  etag?: string;
  lastModified?: string;
}

/** The wheels of one cache directory (`root` is the cache directory; wheels live in `root/wheels`). */
export class WheelCache {
  private readonly dir: string;

  constructor(private readonly root: string) {
    this.dir = join(root, 'wheels');
  }

  /** Where a wheel with this hash and name lives (or would live). */
  path(sha256: string, filename: string): string {
    return join(this.dir, sha256, filename);
  }

  /** The size of the cached wheel, or undefined when it is not cached (its content is not checked). */
  async size(sha256: string, filename: string): Promise<number | undefined> {
    return stat(this.path(sha256, filename)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  /**
   * The cached file for (sha256, filename) if present and intact. A file whose bytes no longer
   * match its hash is removed, so it gets downloaded again.
   */
  async read(sha256: string, filename: string): Promise<string | undefined> {
    const path = this.path(sha256, filename);
    try {
      await stat(path);
    } catch {
      return undefined;
    }
    if ((await hashFile(path)) === sha256) {
      await touch(path);
      return path;
    }
    await rm(path, { force: true });
    return undefined;
  }

  /** Keeps a wheel already in memory (its `sha256` checked by the caller); returns its path. */
  async putBytes(sha256: string, filename: string, bytes: Buffer): Promise<string> {
    const path = this.path(sha256, filename);
    await makeDir(join(this.dir, sha256), this.root);
    await writeFileAtomic(path, bytes, this.root);
    return path;
  }

  /**
   * Downloads a URL into the cache. `check` sees the actual hash before the file is moved into
   * place and may throw (a hash mismatch), in which case nothing is cached.
   */
  async download(
    url: string,
    filename: string,
    check: (sha256: string) => void,
    events: Events = noEvents,
    authFrom?: string,
    http: PackageHttp = defaultPackageHttp(),
  ): Promise<Downloaded> {
    const { dir, root } = this;
    await makeDir(dir, root);
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const res = await http.get(url, '*/*', authFrom);
    if (!res.ok) {
      await res.cancel();
      throw new ShaleError('SHALE_DOWNLOAD', `downloading ${filename} from ${redact(url)} failed: HTTP ${res.status} ${res.statusText}`);
    }
    const total = Number(res.headers.get('content-length') ?? '') || undefined;
    events({ type: 'download', what: filename, status: 'start', ...(total ? { total } : {}) });
    const h = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const done = liveTemp(tmp);
    try {
      await pipeline(res.body, tap, createWriteStream(tmp)).catch((err: unknown) => {
        // A full disk or a refused write names the cache, not the download.
        throw isDiskError(err) ? writeFailure(err, tmp, root) : err;
      });
      const sha256 = h.digest('hex');
      check(sha256);
      const final = this.path(sha256, filename);
      await mkdir(join(dir, sha256), { recursive: true });
      await rename(tmp, final);
      events({ type: 'download', what: filename, status: 'done', bytes: size });
      const got: Downloaded = { path: final, sha256, size };
      const etag = res.headers.get('etag');
      const lastModified = res.headers.get('last-modified');
      if (etag) got.etag = etag;
      if (lastModified) got.lastModified = lastModified;
      return got;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof ShaleError) throw err;
      if (isDiskError(err)) throw writeFailure(err, tmp, root);
      // Ctrl-C, or the host stopped sending (timeout) or cut the connection mid-file.
      if (http.signal?.aborted) throw new InterruptedError();
      throw new ShaleError('SHALE_DOWNLOAD', `downloading ${filename} from ${redact(url)} failed: ${failureText(url, err)}`, { cause: err });
    } finally {
      done();
    }
  }
}
