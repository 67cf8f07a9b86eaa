// The e2e test cache: slow fixtures (the base root fs, repacked wheels) are built once per machine
// and reused. Two test processes may ask at once, so building takes a lock and results appear by
// an atomic rename; a half-built result is never visible.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './exec.js';

/** `$SHALE_TEST_CACHE`, else `/tmp/shale-test-cache`. */
export function testCacheDir(): string {
  return resolve(process.env['SHALE_TEST_CACHE'] ?? join(tmpdir(), 'shale-test-cache'));
}

/** The repository root (the directory holding shale's package.json), found from this file. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'shale') return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the shale repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** A short hex key for cache entries from the given parts. */
export function cacheKey(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` while holding an exclusive lock (a directory made with mkdir, which is atomic).
 * A lock left by a dead process is taken over.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockPath);
      await writeFile(join(lockPath, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lockPath, 'pid'), 'utf8'));
      } catch {
        // the owner has made the directory but not yet written its pid
      }
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if ((Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) || (Number.isNaN(owner) && age > 60_000)) {
        await rm(lockPath, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for lock ${lockPath} held by pid ${String(owner)}; remove it if stale`);
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { recursive: true, force: true });
  }
}

/**
 * Returns `<cache>/<name>`, building it first if absent: `build` fills a fresh temp directory
 * next to it, which is then renamed into place. Safe for concurrent processes.
 */
export async function cachedDir(name: string, build: (tmpDir: string) => Promise<void>): Promise<string> {
  const root = testCacheDir();
  const final = join(root, name);
  if (existsSync(final)) return final;
  await mkdir(dirname(final), { recursive: true });
  return withLock(`${final}.lock`, async () => {
    if (existsSync(final)) return final; // another process built it while we waited
    const tmp = await mkdtemp(`${final}.tmp-`);
    try {
      await build(tmp);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return final;
  });
}
