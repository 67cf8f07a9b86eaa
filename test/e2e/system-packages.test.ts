// End to end: Debian packages as layers, without running anything in the image. The e2e base
// (Debian bookworm + python3, made by mmdebstrap) gets curl and libpq5 from Debian's real,
// signed archive (a byte-for-byte cached copy, see support/debian-mirror.ts): they run in
// podman, dpkg-query lists them, the arm64 image gets arm64 binaries, a rebuild on a fresh
// cache gives the same digests, and a tampered index or .deb is refused with nothing written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { Readable } from 'node:stream';
import { cachingMirror, DEBIAN_KEYRING, tamperedCopy, type DebianMirror } from './support/debian-mirror.js';
import { ensureMultiArchBase } from './support/multi-arch-base.js';
import { podmanRun, removeImages } from './support/podman.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { rm } from 'node:fs/promises';

const ctx = useRegistryWithBase();
let mirror: DebianMirror;

before(async () => {
  mirror = await cachingMirror();
});
after(async () => {
  await mirror?.stop();
});

/** A project installing `packages` from `uri` (keys: Debian's, copied into the project). */
async function project(packages: string[], uri: string, extra = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-syspkg-'));
  await copyFile(DEBIAN_KEYRING, join(dir, 'debian-archive-keyring.gpg'));
  await writeFile(join(dir, 'main.py'), 'print("hello")\n');
  await writeFile(
    join(dir, 'pyproject.toml'),
    `[tool.shale]\nname = "syspkg"\ndomain = "demo"\nbase = "python:3.11-slim"\nentrypoint = ["python3", "main.py"]\nexclude = ["*.gpg"]\n` +
      `system-packages = ${JSON.stringify(packages)}\napt-sources = ["deb [signed-by=debian-archive-keyring.gpg] ${uri} bookworm main"]\n${extra}`,
  );
  return dir;
}

/** The files of a gzip'd layer blob in an OCI layout, by path (./ stripped). */
async function layerFiles(layout: string, digest: string): Promise<Map<string, Buffer>> {
  const blob = await readFile(join(layout, 'blobs', 'sha256', digest.replace('sha256:', '')));
  const out = new Map<string, Buffer>();
  const ex = tarExtract();
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      out.set(e.header.name.replace(/^\.\//, ''), Buffer.concat(parts));
    }
  })();
  Readable.from([gunzipSync(blob)]).pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

test('curl, libpq5 and less from the signed archive: they run, dpkg knows them, alternatives are laid, a fresh rebuild gives the same digest', async () => {
  const dir = await project(['curl', 'libpq5', 'less'], mirror.url);
  const ref = `${ctx.reg.host}/demo/syspkg:v1`;
  const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache() };
  const first = await shaleJson(['build', dir, '--push', ref], env);
  const sys = first.layers.filter((l) => l.name.startsWith('system'));
  assert.ok(
    sys.some((l) => l.name === 'system' && l.source === 'built'),
    JSON.stringify(first.layers),
  );
  const baseIdx = first.layers.findIndex((l) => l.source === 'base');
  const sysIdx = first.layers.findIndex((l) => l.name === 'system');
  const appIdx = first.layers.findIndex((l) => l.name === 'app');
  assert.ok(baseIdx < sysIdx && sysIdx < appIdx, 'the system layer sits above the base and below the app');
  try {
    const curl = await podmanRun(ref, ['--version'], { entrypoint: ['curl'] });
    assert.match(curl.stdout, /^curl 7\.88\.1/);
    const pq = await podmanRun(ref, ['-c', 'import ctypes; ctypes.CDLL("libpq.so.5"); print("libpq ok")'], { entrypoint: ['python3'] });
    assert.equal(pq.stdout.trim(), 'libpq ok');
    const q = await podmanRun(ref, ['-W', '-f', '${Package} ${Status}\\n', 'curl', 'libpq5', 'libcurl4', 'python3'], { entrypoint: ['dpkg-query'] });
    assert.match(q.stdout, /^curl install ok installed$/m);
    assert.match(q.stdout, /^libpq5 install ok installed$/m);
    assert.match(q.stdout, /^libcurl4 install ok installed$/m);
    assert.match(q.stdout, /^python3 install ok installed$/m, "the base's packages are still listed");
    // less's postinst registers the `pager` alternative: laid as update-alternatives would.
    const pager = await podmanRun(
      ref,
      ['-c', 'readlink -f /usr/bin/pager && pager --version | head -1 && update-alternatives --query pager | grep -E "^(Status|Best):"'],
      {
        entrypoint: ['sh'],
      },
    );
    assert.match(pager.stdout, /^\/usr\/bin\/less\nless 590/);
    assert.match(pager.stdout, /Status: auto\nBest: \/usr\/bin\/less/);
    const files = await podmanRun(ref, ['-L', 'libpq5'], { entrypoint: ['dpkg'] });
    assert.match(files.stdout, /libpq\.so\.5/);
  } finally {
    await removeImages(ref);
  }
  // A fresh runner (empty cache): same bytes, same digest.
  const again = await shaleJson(['build', dir, '--oci', join(dir, 'again')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(again.digest, first.digest);
  // Warm: nothing downloaded but InRelease, the system layer from the cache.
  const before = mirror.log.length;
  const warm = await shaleJson(['build', dir, '--oci', join(dir, 'warm')], env);
  assert.equal(warm.layers.find((l) => l.name === 'system')?.source, 'cache');
  assert.deepEqual(
    mirror.log.slice(before).filter((p) => !p.endsWith('/InRelease')),
    [],
    'a warm build fetches no index and no .deb',
  );
});

test('an unknown package names close ones; an unsatisfiable version says so; exit 2, nothing written', async () => {
  const dir = await project(['libpq'], mirror.url);
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /no Debian package "libpq".*close names: .*libpq5/s);
  assert.ok(!existsSync(join(dir, 'out')));
  const pinned = await project(['curl=0.1-1'], mirror.url);
  const r2 = await shale(['build', pinned, '--oci', join(pinned, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r2.exitCode, 2, r2.stderr);
  assert.match(r2.stderr, /"curl" has no version 0\.1-1 .*it has 7\.88\.1/s);
});

test('a tampered InRelease, Packages index or .deb is refused: exit 1, nothing written', async () => {
  // Warm the cached archive with what curl needs, then edit a private copy of it.
  const warm = await project(['curl'], mirror.url);
  await shaleJson(['build', warm, '--oci', join(warm, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const refused = async (edit: (m: DebianMirror) => Promise<void>, message: RegExp): Promise<void> => {
    const copy = await tamperedCopy(mirror);
    try {
      await edit(copy);
      const dir = await project(['curl'], copy.url);
      const r = await shale(['build', dir, '--oci', join(dir, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
    } finally {
      await copy.stop();
    }
  };
  const inRelease = (m: DebianMirror) => join(m.dir, 'dists', 'bookworm', 'InRelease');
  await refused(async (m) => {
    const text = await readFile(inRelease(m), 'utf8');
    await writeFile(inRelease(m), text.replace(/^Suite: .*$/m, 'Suite: tampered'));
  }, /InRelease failed its signature check/);
  await refused(async (m) => {
    // Every stored Packages index (by hash) gets one more package paragraph, recompressed.
    const byHash = join(m.dir, 'dists', 'bookworm', 'main', 'binary-amd64', 'by-hash', 'SHA256');
    for (const f of await readdir(byHash)) {
      const p = join(byHash, f);
      const head = await readFile(p);
      if (head[0] === 0x1f) await writeFile(p, gzipSync(Buffer.concat([gunzipSync(head), Buffer.from('\nPackage: evil\nVersion: 1\n')])));
      else {
        head[head.length - 20] = head.at(-20)! ^ 0xff;
        await writeFile(p, head);
      }
    }
  }, /Packages.* does not match the signed index/);
  await refused(async (m) => {
    const pool = join(m.dir, 'pool', 'main', 'c', 'curl');
    for (const f of (await readdir(pool)).filter((x) => x.startsWith('curl_'))) {
      const p = join(pool, f);
      const b = await readFile(p);
      b[b.length - 100] = b.at(-100)! ^ 0xff;
      await writeFile(p, b);
    }
  }, /curl .* does not match the signed index/);
});

test("two platforms: each gets its own architecture's packages (arm64 curl is an aarch64 ELF)", async () => {
  await ensureMultiArchBase(ctx.reg.host, { repository: 'library/pymulti' });
  const dir = await project(['curl', 'publicsuffix'], mirror.url, 'platforms = ["linux/amd64", "linux/arm64"]\n');
  const toml = join(dir, 'pyproject.toml');
  await writeFile(toml, (await readFile(toml, 'utf8')).replace('base = "python:3.11-slim"', 'base = "pymulti:3.11-slim"'));
  const out = join(dir, 'out');
  const built = await shaleJson(['build', dir, '--oci', out], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const machine = async (platform: string): Promise<number> => {
    const layer = built.layers.find((l) => l.name === 'system' && l.platform === platform) ?? assert.fail(`no system layer for ${platform}`);
    const files = await layerFiles(out, layer.digest);
    const curl = files.get('usr/bin/curl') ?? assert.fail('no usr/bin/curl in the system layer');
    assert.equal(curl.subarray(0, 4).toString('latin1'), '\x7fELF');
    return curl.readUInt16LE(18);
  };
  assert.equal(await machine('linux/amd64'), 62);
  assert.equal(await machine('linux/arm64'), 183);
  // publicsuffix is Architecture: all and needs nothing: one blob for both platforms.
  const all = built.layers.filter((l) => l.name === 'system-all');
  assert.deepEqual(all.map((l) => l.platform).sort(), ['linux/amd64', 'linux/arm64']);
  assert.equal(all[0]!.digest, all[1]!.digest, 'Architecture: all packages are one blob for both platforms');
  assert.ok((await layerFiles(out, all[0]!.digest)).has('usr/share/publicsuffix/public_suffix_list.dat'));
});

test('shale lock pins the .debs; a locked build installs exactly them without reading an index, and says where to go when the mirror lost one', async () => {
  const six = await ensureRepackedWheels(['six']);
  const dir = await project(['curl'], mirror.url, 'find-links = ["wheels"]\nno-index = true\n');
  await copyFile(six.requirements, join(dir, 'requirements.txt'));
  await rm(join(dir, 'wheels'), { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.cp(six.dir, join(dir, 'wheels'), { recursive: true }));
  const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache() };
  const locked = await shale(['lock', dir], env);
  assert.equal(locked.exitCode, 0, locked.stderr);
  const lockText = await readFile(join(dir, 'system-packages.lock.toml'), 'utf8');
  assert.match(lockText, /request = \[ "curl" \]/);
  assert.match(
    lockText,
    /name = "curl"\nversion = "7\.88\.1-[^"]+"\narchitecture = "amd64"\nfilename = "pool\/main\/c\/curl\/curl_[^"]+_amd64\.deb"\nsha256 = "[0-9a-f]{64}"/,
  );
  assert.equal((await shale(['lock', dir, '--check'], env)).exitCode, 0, 'the lock is up to date');

  // Built with the lock: no InRelease, no Packages index; exactly the pinned curl.
  const before = mirror.log.length;
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /from system-packages\.lock\.toml/);
  const fetched = mirror.log.slice(before);
  assert.deepEqual(
    fetched.filter((p) => p.includes('/dists/')),
    [],
    'no index read',
  );
  const pinned = /filename = "(pool\/main\/c\/curl\/curl_[^"]+)"/.exec(lockText)![1]!;
  assert.ok(fetched.includes(`/${pinned}`), fetched.join(', '));

  // A mirror without the pinned .deb: exit 1, the file named, the snapshot way out.
  const copy = await tamperedCopy(mirror);
  try {
    await rm(join(copy.dir, pinned));
    // The project and its lock now name only the copy (a mirror that dropped the file).
    for (const f of ['pyproject.toml', 'system-packages.lock.toml'])
      await writeFile(join(dir, f), (await readFile(join(dir, f), 'utf8')).replaceAll(mirror.url, copy.url));
    const gone = await shale(['build', dir, '--oci', join(dir, 'out2')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
    assert.equal(gone.exitCode, 1, gone.stderr);
    assert.match(
      gone.stderr,
      /curl 7\.88\.1-[^ ]+ \(pool\/main\/c\/curl\/.*is not on .* any more \(HTTP 404\)\. The lock \(system-packages\.lock\.toml\) pins it/s,
    );
    assert.match(gone.stderr, /point apt-sources at a snapshot of the archive that still has it/);
    assert.ok(!existsSync(join(dir, 'out2')));
  } finally {
    await copy.stop();
  }
});

test('[[layers]] system-packages: a layer of their own above `system`, reused when only the layer above changes; locked per layer', async () => {
  const layer = (packages: string[]): string => `[[tool.shale.layers]]\nname = "pq"\nsystem-packages = ${JSON.stringify(packages)}\n`;
  const dir = await project(['curl'], mirror.url, layer(['libpq5']));
  const ref = `${ctx.reg.host}/demo/syspkg:layers`;
  const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache() };
  const first = await shaleJson(['build', dir, '--push', ref], env);
  const names = first.layers.map((l) => l.name);
  assert.ok(names.indexOf('system') >= 0 && names.indexOf('system') < names.indexOf('pq') && names.indexOf('pq') < names.indexOf('app'), names.join(' '));
  try {
    const r = await podmanRun(
      ref,
      [
        '-c',
        "curl --version | head -1 && python3 -c \"import ctypes; ctypes.CDLL('libpq.so.5'); print('libpq ok')\" && dpkg-query -W -f '${Package}\\n' curl libpq5 python3",
      ],
      { entrypoint: ['sh'] },
    );
    assert.match(r.stdout, /^curl 7\.88\.1.*\nlibpq ok\ncurl\nlibpq5\npython3\n$/s, "both layers' packages run and dpkg lists them with the base's");
  } finally {
    await removeImages(ref);
  }

  // Another package in the upper layer: `system` comes from the cache, only `pq` is built.
  await writeFile(join(dir, 'pyproject.toml'), (await readFile(join(dir, 'pyproject.toml'), 'utf8')).replace(layer(['libpq5']), layer(['libpq5', 'less'])));
  const second = await shaleJson(['build', dir, '--oci', join(dir, '.shale', 'second')], env);
  const digestOf = (b: typeof first, name: string) => b.layers.find((l) => l.name === name)?.digest;
  assert.equal(second.layers.find((l) => l.name === 'system')?.source, 'cache');
  assert.equal(digestOf(second, 'system'), digestOf(first, 'system'));
  assert.equal(second.layers.find((l) => l.name === 'pq')?.source, 'built');
  const pq = await layerFiles(join(dir, '.shale', 'second'), digestOf(second, 'pq')!);
  assert.ok(pq.has('usr/bin/less') && [...pq.keys()].some((p) => /libpq\.so\.5/.test(p)));
  assert.ok(![...pq.keys()].some((p) => p.startsWith('usr/bin/curl')), "curl's files are in the layer below");
  assert.match(pq.get('var/lib/dpkg/status')!.toString(), /^Package: curl$/m, "the upper layer's dpkg status lists the lower layer's packages");

  // The lock keeps the layers: a locked build on a fresh cache lays the same layers, byte for byte.
  const locked = await shale(['lock', dir], env);
  assert.equal(locked.exitCode, 0, locked.stderr);
  const lockText = await readFile(join(dir, 'system-packages.lock.toml'), 'utf8');
  assert.match(lockText, /\[\[layer\]\]\nname = "pq"\nrequest = \[ "libpq5", "less" \]/);
  assert.match(lockText, /name = "less"\n(.+\n)+?layer = "pq"/);
  assert.match(locked.stderr, /wrote .*system-packages\.lock\.toml from system-packages \(\d+ for linux\/amd64\)/);
  const check = await shale(['lock', dir, '--check'], env);
  assert.equal(check.exitCode, 0, `a project with system packages alone: the lock is up to date\n${check.stderr}`);
  const third = await shaleJson(['build', dir, '--oci', join(dir, '.shale', 'third')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.deepEqual(
    third.layers.map((l) => [l.name, l.digest]),
    second.layers.map((l) => [l.name, l.digest]),
  );
  // validate: dpkg's records of the image (the base's and both layers') meet each other's Depends.
  const checked = await shale(['validate', dir], env);
  assert.equal(checked.exitCode, 0, checked.stdout + checked.stderr);
  assert.match(
    checked.stdout,
    /^PASS system-packages: linux\/amd64: \d+ packages \(\d+ from shale's layers\) meet each other's Depends and conflict with nothing/m,
  );
});
