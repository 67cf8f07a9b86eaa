// End to end: a base made of Debian packages alone. `base = "scratch"`, `distribution =
// "debian:bookworm"` and `system-packages = ["python3"]` against Debian's signed archive (the
// cached copy of support/debian-mirror.ts): both hello examples run in podman and answer HTTP
// (hello_python with a wheel on top, hello_fastapi under uvicorn), the image has no shell,
// dpkg's records list python3 in /var/lib/dpkg/status.d, a rebuild on a fresh cache gives the
// same digest, and `shale lock` pins the packages and locks the Python deps for python3's X.Y.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { cachingMirror, DEBIAN_KEYRING, type DebianMirror } from './support/debian-mirror.js';
import { podmanRun, removeImages, skopeoConfig, withImage } from './support/podman.js';
import { repoRoot } from './support/cache.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { ensureFastapiWheels, ensureRepackedWheels } from './support/wheels.js';

const ctx = useRegistryWithBase();
let mirror: DebianMirror;

before(async () => {
  mirror = await cachingMirror();
});
after(async () => {
  await mirror?.stop();
});

/** The hello example on a base made of packages, with six from local wheels. */
async function project(extra = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-scratch-'));
  await cp(join(repoRoot(), 'examples', 'hello_python', 'main.py'), join(dir, 'main.py'));
  await copyFile(DEBIAN_KEYRING, join(dir, 'debian-archive-keyring.gpg'));
  const six = await ensureRepackedWheels(['six']);
  await copyFile(six.requirements, join(dir, 'requirements.txt'));
  await cp(six.dir, join(dir, 'wheels'), { recursive: true });
  await writeFile(
    join(dir, 'pyproject.toml'),
    '[tool.shale]\nname = "scratchy"\ndomain = "demo"\nbase = "scratch"\ndistribution = "debian:bookworm"\nsystem-packages = ["python3"]\n' +
      `apt-sources = ["deb [signed-by=debian-archive-keyring.gpg] ${mirror.url} bookworm main"]\n` +
      'entrypoint = ["python3", "main.py"]\nworkdir = "/app"\nexclude = ["*.gpg", "wheels"]\nfind-links = ["wheels"]\nno-index = true\n' +
      extra,
  );
  return dir;
}

test('base = "scratch": python3 from Debian packages alone runs the hello app with a wheel; status.d lists python3; same digest on a rebuild', async () => {
  const dir = await project();
  const ref = `${ctx.reg.host}/demo/scratchy:v1`;
  const first = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.ok(!first.layers.some((l) => l.source === 'base'), `no base layer: ${JSON.stringify(first.layers)}`);
  const names = first.layers.map((l) => l.name);
  assert.ok(names.indexOf('system') >= 0 && names.indexOf('system') < names.indexOf('app'), names.join(' '));
  const config = (await skopeoConfig(ref)) as { config?: { Env?: string[]; User?: string; Entrypoint?: string[] } };
  assert.ok(
    config.config?.Env?.some((e) => e.startsWith('PATH=') && e.includes('/usr/bin')),
    JSON.stringify(config.config),
  );
  assert.ok(!config.config?.User, 'runs as root: no USER');
  await withImage(ref, { port: 18431 }, async (c) => {
    const r = await fetch(`${c.url}/`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello from shale\n');
  });
  try {
    // dpkg's records, read by python3 itself: python3's paragraph in status.d, as scanners read them.
    const status = await podmanRun(
      ref,
      ['-c', 'import os; print(sorted(os.listdir("/var/lib/dpkg/status.d"))); print(open("/var/lib/dpkg/status.d/python3").read())'],
      { entrypoint: ['python3'] },
    );
    assert.match(status.stdout, /'libc6'.*'python3'.*'python3\.11'/s);
    assert.match(status.stdout, /^Package: python3\n(.|\n)*^Version: 3\.11\.\d+/m);
    // Only what python3 needs (python3-minimal's Depends brings dpkg, but nothing brings a shell).
    const sh = await podmanRun(ref, ['-c', 'import os; print(os.path.exists("/bin/sh"), os.path.exists("/usr/bin/dash"))'], {
      entrypoint: ['python3'],
    });
    assert.equal(sh.stdout.trim(), 'False False', 'no shell');
    // base-files: the release for scanners, and a /tmp anyone can write (tempfile works).
    const skel = await podmanRun(
      ref,
      ['-c', 'import os, stat, tempfile; print(oct(stat.S_IMODE(os.stat("/tmp").st_mode))); print(open("/etc/os-release").read()); tempfile.mkstemp()'],
      { entrypoint: ['python3'] },
    );
    assert.match(skel.stdout, /^0o1777$/m);
    assert.match(skel.stdout, /^VERSION_CODENAME=bookworm$/m);
    // The Python layers sit on Debian's python3: six installed where it looks.
    const six = await podmanRun(ref, ['-c', 'import six; print(six.__file__)'], { entrypoint: ['python3'] });
    assert.match(six.stdout, /^\/usr\/local\/lib\/python3\.11\/dist-packages\/six\.py$/m);
  } finally {
    await removeImages(ref);
  }
  const again = await shaleJson(['build', dir, '--oci', join(dir, 'again')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(again.digest, first.digest);
});

test('base = "scratch" without distribution, or a distribution on another base, is exit 2 naming the key', async () => {
  const dir = await project();
  const toml = join(dir, 'pyproject.toml');
  const text = await readFile(toml, 'utf8');
  await writeFile(toml, text.replace('distribution = "debian:bookworm"\n', ''));
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], ctx.env);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /base = "scratch" needs `\[tool\.shale\]\.distribution`/);
  await writeFile(toml, text.replace('base = "scratch"', 'base = "python:3.11-slim"'));
  const r2 = await shale(['build', dir, '--oci', join(dir, 'out')], ctx.env);
  assert.equal(r2.exitCode, 2, r2.stderr);
  assert.match(r2.stderr, /`\[tool\.shale\]\.distribution` is only for base = "scratch"/);
});

test('shale lock on base = "scratch": python3 and libc6 pinned, the Python lock made for their 3.11; a build with the locks reads no index', async () => {
  const dir = await project();
  const env = { ...ctx.env, SHALE_CACHE_DIR: await freshCache() };
  const locked = await shale(['lock', dir], env);
  assert.equal(locked.exitCode, 0, locked.stderr);
  const lock = await readFile(join(dir, 'system-packages.lock.toml'), 'utf8');
  assert.match(lock, /name = "python3"\nversion = "3\.11\.\d+-[^"]+"/);
  assert.match(lock, /name = "libc6"\nversion = "2\.36-/);
  const pylock = await readFile(join(dir, 'pylock.toml'), 'utf8');
  assert.match(pylock, /name = "six"/);
  assert.match(pylock, /^requires-python = "==3\.11\.\*"$/m, "the Python lock is for python3's 3.11");
  const before = mirror.log.length;
  const built = await shale(['build', dir, '--oci', join(dir, 'out')], env);
  assert.equal(built.exitCode, 0, built.stderr);
  assert.match(built.stderr + built.stdout, /system packages \(linux\/amd64, from system-packages\.lock\.toml\)/);
  assert.deepEqual(
    mirror.log.slice(before).filter((p) => p.includes('/dists/')),
    [],
    'no InRelease, no Packages index',
  );
});

test('the hello_fastapi example, its shale.toml changed only in base (and the keyring left out), runs uvicorn on python3 from Debian packages as a created user', async () => {
  const example = join(repoRoot(), 'examples', 'hello_fastapi');
  const dir = await mkdtemp(join(tmpdir(), 'shale-scratch-fastapi-'));
  for (const f of ['main.py', 'requirements.txt']) await copyFile(join(example, f), join(dir, f));
  await cp((await ensureFastapiWheels()).dir, join(dir, 'wheels'), { recursive: true });
  await copyFile(DEBIAN_KEYRING, join(dir, 'debian-archive-keyring.gpg'));
  const config = await readFile(join(example, 'shale.toml'), 'utf8');
  assert.match(config, /^base = "python:3\.11-slim"$/m);
  assert.match(config, /^exclude = \["wheels\/"\]$/m);
  const scratch = config
    .replace(
      /^base = .*$/m,
      'base = "scratch"\ndistribution = "debian:bookworm"\nsystem-packages = ["python3"]\n' +
        `apt-sources = ["deb [signed-by=debian-archive-keyring.gpg] ${mirror.url} bookworm main"]`,
    )
    .replace(/^exclude = .*$/m, 'exclude = ["wheels/", "*.gpg"]\nuser = "app"');
  await writeFile(join(dir, 'shale.toml'), scratch);
  const ref = `${ctx.reg.host}/demo/hello-fastapi-scratch:v1`;
  await shaleJson(['build', dir, '--push', ref], ctx.env);
  await withImage(ref, { port: 8000 }, async (c) => {
    const r = await fetch(`${c.url}/`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { message?: string; python?: string };
    assert.equal(body.message, 'hello from shale');
    assert.match(body.python ?? '', /^3\.11\.\d+$/);
  });
  // scratch has no /etc/passwd: the users layer makes one with root and the created user.
  const who = await podmanRun(ref, ['-c', 'import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name, pwd.getpwuid(0).pw_name)'], {
    entrypoint: ['python3'],
  });
  assert.equal(who.stdout.trim(), '10001 app root');
  await removeImages(ref);
});

/** One file of a gzip'd layer blob in an OCI layout (./ stripped), or undefined. */
async function layerFile(layout: string, digest: string, path: string): Promise<Buffer | undefined> {
  const blob = await readFile(join(layout, 'blobs', 'sha256', digest.replace('sha256:', '')));
  let found: Buffer | undefined;
  const ex = tarExtract();
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      if (e.header.name.replace(/^\.\//, '') === path) found = Buffer.concat(parts);
    }
  })();
  Readable.from([gunzipSync(blob)]).pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return found;
}

test("two platforms on scratch: each gets its architecture's python3 (arm64's python3.11 is an aarch64 ELF), no emulation", async () => {
  const dir = await project('platforms = ["linux/amd64", "linux/arm64"]\n');
  const out = join(dir, 'out');
  const built = await shaleJson(['build', dir, '--oci', out], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  const machine = async (platform: string): Promise<number> => {
    const layer = built.layers.find((l) => l.name === 'system' && l.platform === platform) ?? assert.fail(`no system layer for ${platform}`);
    const python = (await layerFile(out, layer.digest, 'usr/bin/python3.11')) ?? assert.fail(`no usr/bin/python3.11 for ${platform}`);
    assert.equal(python.subarray(0, 4).toString('latin1'), '\x7fELF');
    return python.readUInt16LE(18);
  };
  assert.equal(await machine('linux/amd64'), 62);
  assert.equal(await machine('linux/arm64'), 183);
});
