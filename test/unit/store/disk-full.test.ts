// A full disk, a directory this user may not write, a read-only file system: each write to the
// cache or to an output fails with a ShaleError naming the path and the directory to fix, and
// leaves no temporary file behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ShaleError } from '../../../src/errors.js';
import { writeLayerBlob } from '../../../src/layer/blob.js';
import { bufferEntry } from '../../../src/layer/entry.js';
import { writeFileAtomic } from '../../../src/store/atomic-file.js';
import { FsBlobStore } from '../../../src/store/blob-store.js';
import { writeFailure } from '../../../src/store/disk-errors.js';
import { Cache } from '../../../src/store/cache.js';
import { FingerprintIndex } from '../../../src/store/fingerprint-index.js';
import { LayerRecords } from '../../../src/store/layer-records.js';
import { liveTempCount } from '../../../src/store/live-temps.js';
import { writeTarAtomic } from '../../../src/image/tar-pack.js';
import { tmp } from '../publish/fixtures.js';

const errno = (code: string, syscall = 'write'): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall });

/** Every file under `dir` whose name marks a temporary file. */
async function temps(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.name.startsWith('.tmp-')) out.push(join(e.parentPath ?? e.path, e.name));
  return out;
}

/** Incompressible bytes (a layer of them cannot fit a small disk however it is gzipped). */
const noise = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};

describe('writeFailure', () => {
  test('names the path and the directory to free for ENOSPC and EDQUOT', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const e = writeFailure(errno(code), '/c/blobs/sha256/x', '/c');
      assert.ok(e instanceof ShaleError && e.code === 'SHALE_DISK_FULL' && e.exitCode === 1, code);
      assert.match(e.message, /cannot write \/c\/blobs\/sha256\/x: .*Free space in \/c .*shale cache prune/);
    }
  });
  test('names the permission to fix for EACCES and EPERM, and the read-only disk for EROFS', () => {
    for (const code of ['EACCES', 'EPERM']) {
      const e = writeFailure(errno(code), '/out/x.tar', '/out');
      assert.ok(e instanceof ShaleError && e.code === 'SHALE_NOT_WRITABLE', code);
      assert.match(e.message, /permission denied .*write permission on \/out/);
    }
    const ro = writeFailure(errno('EROFS'), '/out/x.tar', '/out');
    assert.ok(ro instanceof ShaleError && ro.code === 'SHALE_READ_ONLY');
    assert.match(ro.message, /\/out is on a read-only file system/);
  });
  test('leaves every other error as it was', () => {
    const other = errno('EIO');
    assert.equal(writeFailure(other, '/a', '/'), other);
    const shale = new ShaleError('SHALE_X', 'x');
    assert.equal(writeFailure(shale, '/a', '/'), shale);
  });
});

describe('writers blame the source, not the disk, for a source error', () => {
  test('an unreadable input (EACCES while reading) stays the input error', async () => {
    const root = await tmp();
    const store = new FsBlobStore(root);
    const unreadable = new Readable({
      read() {
        this.destroy(errno('EACCES', 'open'));
      },
    });
    await assert.rejects(store.put(unreadable), (e: unknown) => !(e instanceof ShaleError) && (e as NodeJS.ErrnoException).code === 'EACCES');
    assert.deepEqual(await temps(root), []);
  });
});

// ENOSPC for real: a tiny tmpfs (needs root to mount; skipped elsewhere).
const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
describe('on a full disk (1 MB tmpfs)', { skip: canMount ? false : 'needs root to mount a tmpfs' }, () => {
  let disk = '';
  const mounted: string[] = [];
  const mount = async (opts: string): Promise<string> => {
    const dir = await tmp('shale-tmpfs-');
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
    mounted.push(dir);
    return dir;
  };
  after(() => {
    for (const d of mounted) {
      spawnSync('umount', [d]);
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('FsBlobStore.put fails naming the store, and leaves no temporary file', async () => {
    disk = await mount('size=1m');
    const store = new FsBlobStore(disk);
    await assert.rejects(store.put(Readable.from([noise(2 << 20)])), (e: unknown) => {
      assert.ok(e instanceof ShaleError, String(e));
      assert.equal(e.code, 'SHALE_DISK_FULL');
      assert.ok(e.message.includes(`a new blob in ${join(disk, 'blobs', 'sha256')}`), e.message);
      assert.ok(e.message.includes(`Free space in ${disk} `), e.message);
      return true;
    });
    assert.deepEqual(await temps(disk), []);
    assert.equal(liveTempCount(), 0);
  });

  test('a layer write fails with the disk error, not "premature close", and only after the temp is gone', async () => {
    const store = new FsBlobStore(disk);
    const entries = [bufferEntry('app/big.bin', noise(3 << 20)), bufferEntry('app/more.bin', noise(1 << 20))];
    await assert.rejects(writeLayerBlob(entries, { mtime: 0 }, store), { code: 'SHALE_DISK_FULL' });
    assert.deepEqual(await temps(disk), [], 'nothing left when the error arrives');
  });

  test('writeFileAtomic, index entries, records and file hashes fail naming the cache directory', async () => {
    const cache = await mount('size=64k');
    await mkdir(join(cache, 'index'));
    await mkdir(join(cache, 'records'));
    await writeFile(join(cache, 'filler'), noise(128 << 10)).catch(() => undefined); // fills it to the last byte
    await assert.rejects(writeFileAtomic(join(cache, 'x.json'), '{}'), { code: 'SHALE_DISK_FULL' });
    const digest = `sha256:${'a'.repeat(64)}` as const;
    await assert.rejects(
      new FingerprintIndex(cache, new FsBlobStore(cache)).set('fp', { descriptor: { mediaType: 'x', digest, size: 1 }, diffId: digest, name: 'app' }),
      (e: unknown) => e instanceof ShaleError && e.code === 'SHALE_DISK_FULL' && e.message.includes(`Free space in ${cache} `),
    );
    await assert.rejects(new LayerRecords(cache).set(['p', 'linux/amd64', 'app'], { kind: 'app' }), { code: 'SHALE_DISK_FULL' });
    const hashes = Cache.open(cache).hashes;
    const src = join(await tmp(), 'src');
    await writeFile(src, 'x');
    await hashes.hash(src);
    await assert.rejects(hashes.save(), { code: 'SHALE_DISK_FULL' });
    assert.deepEqual(await temps(cache), []);
  });

  test('a tarball output fails naming the file and its directory, and leaves nothing', async () => {
    const out = await mount('size=1m');
    const file = join(out, 'image.tar');
    await assert.rejects(
      writeTarAtomic(file, async (pack) => {
        await new Promise<void>((resolve, reject) => pack.entry({ name: 'big', size: 2 << 20 }, noise(2 << 20), (err) => (err ? reject(err) : resolve())));
      }),
      (e: unknown) =>
        e instanceof ShaleError && e.code === 'SHALE_DISK_FULL' && e.message.includes(`cannot write ${file}:`) && e.message.includes(`Free space in ${out} `),
    );
    assert.deepEqual(await readdir(out), []);
  });

  test('a read-only file system is EROFS, named', async () => {
    const ro = await mount('size=1m,ro');
    await assert.rejects(
      writeFileAtomic(join(ro, 'index.json'), '{}'),
      (e: unknown) => e instanceof ShaleError && e.code === 'SHALE_READ_ONLY' && e.message.includes(ro),
    );
    await assert.rejects(new FsBlobStore(ro).putBytes(Buffer.from('x')), { code: 'SHALE_READ_ONLY' });
  });
});

// EACCES for real: root may write anywhere, so as root the write runs as nobody in a child.
describe('in a directory this user may not write', () => {
  test('a blob, a record and a tarball fail naming the directory and the permission to fix', async () => {
    const dir = await tmp();
    await chmod(dir, 0o755);
    const locked = join(dir, 'locked');
    await mkdir(join(locked, 'blobs', 'sha256'), { recursive: true });
    await chmod(join(locked, 'blobs', 'sha256'), 0o555);
    await chmod(locked, 0o555);
    const script = join(dir, 'probe.mjs');
    const dist = fileURLToPath(new URL('../../../src/', import.meta.url));
    await writeFile(
      script,
      `
      import { Readable } from 'node:stream';
      const { FsBlobStore } = await import(${JSON.stringify(join(dist, 'store', 'blob-store.js'))});
      const { LayerRecords } = await import(${JSON.stringify(join(dist, 'store', 'layer-records.js'))});
      const { writeTarAtomic } = await import(${JSON.stringify(join(dist, 'image', 'tar-pack.js'))});
      const out = [];
      const probe = (p) => p.then(() => out.push('ok'), (e) => out.push({ code: e.code, message: e.message }));
      await probe(new FsBlobStore(${JSON.stringify(locked)}).put(Readable.from([Buffer.from('x')])));
      await probe(new LayerRecords(${JSON.stringify(locked)}).set(['a'], {}));
      await probe(writeTarAtomic(${JSON.stringify(join(locked, 'x.tar'))}, async () => {}));
      console.log(JSON.stringify(out));
    `,
    );
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    assert.equal(r.status, 0, r.stderr);
    const [blob, record, tar] = JSON.parse(r.stdout) as { code: string; message: string }[];
    for (const e of [blob, record, tar]) {
      assert.equal(e?.code, 'SHALE_NOT_WRITABLE', JSON.stringify(e));
      assert.ok(e.message.includes(`write permission on ${locked}`), e.message);
    }
    assert.match(
      blob!.message,
      new RegExp(`cannot write a new blob in ${join(locked, 'blobs', 'sha256').replace(/[/.]/g, '\\$&')}: permission denied \\(EACCES\\)`),
    );
    assert.ok(record!.message.includes(`cannot write ${join(locked, 'records')}`), record!.message);
    assert.ok(tar!.message.includes(`cannot write ${join(locked, 'x.tar')}`), tar!.message);
    await chmod(locked, 0o755);
    assert.deepEqual(await temps(locked), []);
  });
});

describe('a process that exits while writing', () => {
  test('leaves none of the temporary files it was writing (bin/shale ends a failed build with process.exit)', async () => {
    const dir = await tmp();
    const script = join(dir, 'exit.mjs');
    const dist = fileURLToPath(new URL('../../../src/', import.meta.url));
    await writeFile(
      script,
      `
      import { PassThrough } from 'node:stream';
      const { FsBlobStore } = await import(${JSON.stringify(join(dist, 'store', 'blob-store.js'))});
      const { writeTarAtomic } = await import(${JSON.stringify(join(dist, 'image', 'tar-pack.js'))});
      const src = new PassThrough();
      void new FsBlobStore(${JSON.stringify(dir)}).put(src);
      src.write(Buffer.alloc(1 << 16));
      void writeTarAtomic(${JSON.stringify(join(dir, 'out.tar'))}, () => new Promise(() => {}));
      setTimeout(() => process.exit(1), 200);
    `,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(await temps(dir), []);
  });
});
