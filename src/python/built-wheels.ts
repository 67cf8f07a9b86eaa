/**
 * Wheels built from sdists, kept by the sdist's content: `<cache>/built-wheels/<sdist-sha256>/`
 * holds `<wheel filename>` and `<wheel filename>.sha256` (the wheel's own hash). A build runs
 * once per sdist per machine: the directory is filled under a temporary name and renamed into
 * place, the first writer wins, and a wheel that no longer matches its sidecar is discarded.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../store/file-hashes.js';
import { touch } from '../store/cache-prune.js';

/** A built wheel in the cache. */
export interface BuiltWheel {
  path: string;
  filename: string;
  /** Hex sha256 of the wheel file (not of the sdist). */
  sha256: string;
  size: number;
}

/**
 * The built wheels of one cache directory (`root/built-wheels`), and the builds running in this
 * process, so two platforms of one build share one pip run.
 */
export class BuiltWheels {
  private readonly dir: string;
  private readonly building = new Map<string, Promise<BuiltWheel>>();

  constructor(root: string) {
    this.dir = join(root, 'built-wheels');
  }

  private dirFor(sdistSha256: string): string {
    return join(this.dir, sdistSha256);
  }

  /** The wheel built earlier from the sdist with this hash, if present and intact; a damaged entry is removed. */
  async get(sdistSha256: string): Promise<BuiltWheel | undefined> {
    const dir = this.dirFor(sdistSha256);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    const filename = names.find((n) => n.endsWith('.whl'));
    if (filename) {
      const path = join(dir, filename);
      const want = await readFile(`${path}.sha256`, 'utf8').then(
        (s) => s.trim(),
        () => undefined,
      );
      if (want && (await hashFile(path).catch(() => undefined)) === want) {
        await touch(path);
        return { path, filename, sha256: want, size: (await stat(path)).size };
      }
    }
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }

  /**
   * Copies a freshly built wheel into the cache under the sdist's hash and returns the cached
   * copy. When another build got there first, its wheel is the one kept and returned, so every
   * user of this cache plans with the same bytes.
   */
  async store(sdistSha256: string, wheelPath: string, filename: string): Promise<BuiltWheel> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
    try {
      await copyFile(wheelPath, join(tmp, filename));
      const sha256 = await hashFile(join(tmp, filename));
      await writeFile(join(tmp, `${filename}.sha256`), `${sha256}\n`);
      try {
        await rename(tmp, this.dirFor(sdistSha256));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      const kept = await this.get(sdistSha256);
      if (!kept) throw new Error(`built wheel ${filename} vanished from ${this.dirFor(sdistSha256)}`);
      return kept;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Runs `build` for an sdist once at a time in this process: callers that ask meanwhile share its wheel. */
  once(sdistSha256: string, build: () => Promise<BuiltWheel>): Promise<BuiltWheel> {
    let p = this.building.get(sdistSha256);
    if (!p) {
      p = build();
      this.building.set(sdistSha256, p);
      void p.finally(() => this.building.delete(sdistSha256)).catch(() => undefined);
    }
    return p;
  }
}
