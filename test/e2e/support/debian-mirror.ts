// A Debian archive for the system-package tests: a small HTTP server over a directory that
// holds a byte-for-byte copy of the parts of Debian's archive the tests use (InRelease, the
// Packages indexes, the .debs). A file the copy lacks is fetched once from the machine's own
// Debian mirror (the URIs of /etc/apt/sources.list.d/debian.sources) and kept under
// $SHALE_TEST_CACHE, so later runs need no network and always see the same snapshot (same
// digests). `tamperedCopy` makes a private copy a test may edit, served without fallback.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { testCacheDir } from './cache.js';

/** Debian's public keys for its archive, as this machine's apt has them. */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The machine's Debian mirror (its apt sources), else deb.debian.org. */
export function upstreamMirror(): string {
  try {
    const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1];
    if (uri) return uri;
  } catch {
    // no deb822 sources on this machine
  }
  return 'http://deb.debian.org/debian';
}

export interface DebianMirror {
  /** http://127.0.0.1:PORT */
  url: string;
  dir: string;
  /** Paths requested, in order. */
  log: string[];
  stop(): Promise<void>;
}

/** Serves `dir`; with `upstream`, a missing file is fetched from it and kept. */
export async function serveMirror(dir: string, upstream?: string): Promise<DebianMirror> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    log.push(path);
    const file = join(dir, path);
    void (async () => {
      if (!existsSync(file) && upstream) {
        const r = await fetch(`${upstream}${path}`);
        if (r.ok) {
          const bytes = Buffer.from(await r.arrayBuffer());
          await mkdir(dirname(file), { recursive: true });
          const tmp = `${file}.tmp-${process.pid}-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 8)}`;
          await writeFile(tmp, bytes);
          await rename(tmp, file);
        }
      }
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      const bytes = await readFile(file);
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    })().catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, dir, log, stop: () => new Promise<void>((ok) => server.close(() => ok())) };
}

/** The machine-wide cached copy of Debian's archive, filled on demand. */
export async function cachingMirror(): Promise<DebianMirror> {
  const dir = join(testCacheDir(), 'debian-mirror');
  await mkdir(dir, { recursive: true });
  return serveMirror(dir, upstreamMirror());
}

/** A private copy of the cached archive (what the tests used so far), served without upstream. */
export async function tamperedCopy(from: DebianMirror): Promise<DebianMirror> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-debian-mirror-'));
  await cp(from.dir, dir, { recursive: true });
  return serveMirror(dir);
}
