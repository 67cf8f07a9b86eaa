// A hostile or messy cache directory: files a crash or a full disk damaged, a disk that fills
// up mid-build, an output this user may not write. Each build either succeeds (the damage is
// ignored and repaired) or fails with exit 1 and one paragraph naming the directory to fix,
// never "this looks like a bug", and never leaves temporary files behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { run } from './support/exec.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();
const app = (): string => join(repoRoot(), 'examples', 'hello_fastapi');
const isRoot = process.getuid?.() === 0;

/** Every file under `dir`, recursively (paths). */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
  return out;
}
const tempFiles = async (dir: string): Promise<string[]> => (await files(dir)).filter((p) => p.split('/').pop()!.startsWith('.tmp-'));

/** The cache's small JSON files a build reads back: hashes, index entries, layer records, base-image records. */
async function cacheJsonFiles(cache: string): Promise<string[]> {
  return (await files(cache)).filter((p) => p.endsWith('.json') && !p.includes('/blobs/') && !p.split('/').pop()!.startsWith('.tmp-'));
}

/** Mounts a tmpfs of `size` (root only); returns the directory and how to unmount it. */
async function tmpfs(size: string): Promise<{ dir: string; unmount: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-tmpfs-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return {
    dir,
    unmount: async () => {
      spawnSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** hello_fastapi plus 3 MB of incompressible bytes: its app layer cannot fit a 2 MB disk. */
async function bigApp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-big-app-'));
  await cp(app(), dir, { recursive: true });
  await writeFile(join(dir, 'static.bin'), randomBytes(3 << 20));
  return dir;
}

const DAMAGE: Record<string, string> = {
  empty: '',
  truncated: '{"format":1,"fingerprint":"app\\u0000',
  garbage: '\u0000\u0001\u0002PK\u0003\u0004garbage',
};

test('damaged cache files (empty, truncated, garbage) fail no build, --no-cache included, and are rewritten', async () => {
  await run('sh', [join(app(), 'fetch-wheels.sh')]);
  const cache = await freshCache();
  const env = { ...ctx.env, SHALE_CACHE_DIR: cache };
  const out = `${cache}-out`;
  const first = await shaleJson(['build', app(), '--oci', out], env);
  const damaged = await cacheJsonFiles(cache);
  for (const kind of ['file-hashes.json', '/index/', '/records/', '/base/']) {
    assert.ok(
      damaged.some((p) => p.includes(kind)),
      `the build left a ${kind} to damage`,
    );
  }
  for (const [kind, text] of Object.entries(DAMAGE)) {
    for (const flags of [['--no-cache'], []]) {
      for (const p of damaged) await writeFile(p, text);
      const r = await shale(['build', app(), '--oci', out, '--json', ...flags], env);
      assert.equal(r.exitCode, 0, `${kind} ${flags.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /looks like a bug/);
      assert.equal((JSON.parse(r.stdout) as { digest: string }).digest, first.digest, `${kind}: the same image`);
      const hashes: unknown = JSON.parse(await readFile(join(cache, 'file-hashes.json'), 'utf8'));
      assert.ok(typeof hashes === 'object' && hashes !== null && Object.keys(hashes).length > 0, `${kind}: file-hashes.json rewritten`);
      for (const p of damaged.filter((x) => x.includes('/index/') || x.includes('/records/'))) {
        assert.doesNotThrow(() => JSON.parse(readFileSync(p, 'utf8')), `${kind} ${flags.join(' ')}: ${p} rewritten`);
      }
    }
  }
});

// Needs the build to hand its events to the store: `Cache.open(cacheDir, events)` in
// src/pipeline/build.ts gives them to every member (see src/store/README.md).
test('each damaged cache file is warned about once per build, naming it', async () => {
  const cache = await freshCache();
  const env = { ...ctx.env, SHALE_CACHE_DIR: cache };
  const out = `${cache}-out`;
  await shaleJson(['build', app(), '--oci', out], env);
  const hashes = join(cache, 'file-hashes.json');
  const entries = (await cacheJsonFiles(cache)).filter((p) => p.includes('/index/'));
  await writeFile(hashes, '');
  for (const p of entries) await writeFile(p, '{"format":1,');
  const r = await shale(['build', app(), '--oci', out], env);
  assert.equal(r.exitCode, 0, r.stderr);
  const said = (path: string): number => r.stderr.split('\n').filter((l) => l.startsWith('warning: ') && l.includes(`damaged`) && l.includes(path)).length;
  assert.equal(said(hashes), 1, r.stderr);
  for (const p of entries) assert.equal(said(p), 1, `${p}:\n${r.stderr}`);
});

test(
  'a cache on a disk that fills up: exit 1 naming the cache directory, no temporary files left, and a normal cache then works',
  { skip: isRoot ? false : 'needs root to mount a tmpfs' },
  async () => {
    const big = await bigApp();
    const small = await tmpfs('2m');
    try {
      for (let i = 0; i < 2; i++) {
        const r = await shale(['build', big, '--cache-dir', small.dir, '--oci', join(big, 'out')], ctx.env);
        assert.equal(r.exitCode, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /looks like a bug/);
        assert.match(r.stderr, /^error: .*no space is left on the device \(ENOSPC\)/m);
        assert.ok(r.stderr.includes(`Free space in ${small.dir} `), r.stderr);
        assert.deepEqual(await tempFiles(small.dir), [], `run ${i + 1}: no temporary file keeps the disk full`);
      }
    } finally {
      await small.unmount();
    }
    const ok = await shale(['build', big, '--cache-dir', await freshCache(), '--oci', join(big, 'out')], ctx.env);
    assert.equal(ok.exitCode, 0, ok.stderr);
  },
);

test(
  'outputs that cannot be written: a full disk for --tar and --oci, a read-only directory: exit 1 naming them',
  { skip: isRoot ? false : 'needs root to mount a tmpfs' },
  async () => {
    const big = await bigApp();
    const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache() };
    const small = await tmpfs('2m');
    try {
      const tar = join(small.dir, 'image.tar');
      const t = await shale(['build', big, '--tar', tar], env);
      assert.equal(t.exitCode, 1, t.stderr);
      assert.ok(t.stderr.includes(`cannot write ${tar}: no space is left on the device`), t.stderr);
      assert.ok(t.stderr.includes(`Free space in ${small.dir} `), t.stderr);
      assert.deepEqual(await readdir(small.dir), []);

      const layout = join(small.dir, 'layout');
      const o = await shale(['build', big, '--oci', layout], env);
      assert.equal(o.exitCode, 1, o.stderr);
      assert.match(
        o.stderr,
        new RegExp(
          `^error: writing layer \\S+ sha256:[0-9a-f]{64} to OCI layout ${layout}: cannot write a new blob in ${layout}/blobs/sha256: no space is left`,
          'm',
        ),
      );
      assert.deepEqual(await tempFiles(small.dir), []);
    } finally {
      await small.unmount();
    }

    // Root may write anywhere: the read-only case runs as nobody, into a directory owned by root.
    const locked = await mkdtemp(join(tmpdir(), 'shale-locked-'));
    await mkdir(join(locked, 'out'));
    await chmod(locked, 0o755);
    const cache = await mkdtemp(join(tmpdir(), 'shale-nobody-cache-'));
    await chmod(cache, 0o777);
    const tar = join(locked, 'out', 'image.tar');
    const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'shale'), 'build', app(), '--tar', tar, '--cache-dir', cache], {
      encoding: 'utf8',
      env: { ...process.env, ...ctx.env, HOME: cache },
      uid: 65534,
      gid: 65534,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(
      r.stderr.includes(`cannot write ${tar}: permission denied (EACCES). Give this user (uid 65534) write permission on ${join(locked, 'out')}`),
      r.stderr,
    );
  },
);

test('shale cache prune --unused-for 0s / 0 / 0d: everything not used in the last 10 minutes', async () => {
  const cache = await freshCache();
  for (const age of ['0s', '0', '0d']) {
    const r = await shale(['cache', 'prune', '--unused-for', age, '--cache-dir', cache]);
    assert.equal(r.exitCode, 0, `${age}: ${r.stderr}`);
    assert.match(r.stdout, /nothing to remove; kept 0/);
  }
});
