// End to end: one build for linux/amd64 and linux/arm64 without emulation. The base is a real
// two-platform index (Debian amd64 + arm64 root fs), PyYAML has a native wheel per platform and
// six is pure. skopeo reads what was pushed; the layers' ELF headers are read from the blobs in
// the registry; podman runs the amd64 image (this machine's platform) and loads the tarballs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { run } from './support/exec.js';
import { ensureMultiArchBase } from './support/multi-arch-base.js';
import { loadTar, podmanRun, removeImages, skopeoConfig, skopeoRawManifest } from './support/podman.js';
import { startRegistry, type Registry } from './support/registry.js';
import { freshCache, shale, shaleJson } from './support/shale.js';
import { ensureNativeWheels } from './support/wheels.js';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const MACHINE: Record<string, number> = { 'linux/amd64': EM_X86_64, 'linux/arm64': EM_AARCH64 };

let reg: Registry;
let env: Record<string, string>;
let app: string;
let wheels: string;

async function writeApp(dir: string, findLinks: string, platforms = '["linux/amd64", "linux/arm64"]'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'pyproject.toml'),
    `[tool.shale]
name = "multi"
base = "python:3.11-slim"
python = "3.11"
platforms = ${platforms}
workdir = "/app"
entrypoint = ["python3", "main.py"]
lock = "requirements.txt"
find-links = [${JSON.stringify(findLinks)}]
no-index = true
`,
  );
  await writeFile(join(dir, 'main.py'), 'import six, yaml\nprint(yaml.__with_libyaml__, six.__version__)\n');
}

before(async () => {
  reg = await startRegistry();
  const [, set] = await Promise.all([ensureMultiArchBase(reg.host), ensureNativeWheels()]);
  wheels = set.dir;
  env = { SHALE_REGISTRY_MIRRORS: `docker.io=${reg.host}`, SHALE_CACHE_DIR: await freshCache() };
  app = await mkdtemp(join(tmpdir(), 'shale-multi-'));
  await writeApp(app, wheels);
  await copyFile(set.requirements, join(app, 'requirements.txt'));
});
after(async () => {
  await reg?.stop();
});

interface Desc {
  digest: string;
  size: number;
  mediaType: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** The platform's manifest from a pushed index, read by skopeo. */
async function manifestOf(ref: string, index: { manifests: Desc[] }, platform: string): Promise<{ layers: Desc[]; digest: string }> {
  const d = index.manifests.find((m) => `${m.platform?.os}/${m.platform?.architecture}` === platform) ?? assert.fail(`no ${platform} in the index`);
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const raw = await skopeoRawManifest(`${repo}@${d.digest}`);
  return { layers: raw.json.layers as Desc[], digest: d.digest };
}

const layerName = (l: Desc): string => l.annotations?.['dev.shale.layer.name'] ?? 'base';

/** e_machine of every ELF file in a gzip'd layer tar fetched from the registry, by path. */
async function elfMachines(repoUrl: string, digest: string): Promise<Map<string, number>> {
  const res = await fetch(`${repoUrl}/blobs/${digest}`);
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  const extract = tarExtract();
  const done = pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createGunzip(), extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const b = Buffer.concat(chunks);
    if (b.length >= 20 && b.readUInt32BE(0) === 0x7f454c46) out.set(entry.header.name, b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18));
  }
  await done;
  return out;
}

test('two platforms: an OCI index; app and pure layers shared, native layer per platform, ELF files match', async (t) => {
  const ref = `${reg.host}/demo/multi:v1`;
  // The same work side by side: nothing cached, pushed to the same registry.
  const one = await shaleJson(['build', app, '--platform', 'linux/amd64', '--push', `${reg.host}/demo/multi-one:v1`, '--no-cache'], env);
  const both = await shaleJson(['build', app, '--push', ref, '--no-cache'], env);
  t.diagnostic(`--no-cache build + push: one platform ${one.seconds} s (${one.pushed.bytes} B), two platforms ${both.seconds} s (${both.pushed.bytes} B)`);

  const top = await skopeoRawManifest(ref);
  assert.equal(top.json.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(both.digest, `sha256:${(await import('node:crypto')).createHash('sha256').update(top.text).digest('hex')}`);
  const index = top.json as unknown as { manifests: Desc[] };
  assert.deepEqual(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort(), ['linux/amd64', 'linux/arm64']);

  const amd = await manifestOf(ref, index, 'linux/amd64');
  const arm = await manifestOf(ref, index, 'linux/arm64');
  const byName = (m: { layers: Desc[] }, prefix: string): Desc => m.layers.find((l) => layerName(l).startsWith(prefix)) ?? assert.fail(`no ${prefix} layer`);
  assert.equal(byName(amd, 'app').digest, byName(arm, 'app').digest, 'the app layer is one blob for both platforms');
  assert.equal(byName(amd, 'deps-pure').digest, byName(arm, 'deps-pure').digest, 'the pure (six) layer is one blob for both platforms');
  assert.notEqual(byName(amd, 'deps-native').digest, byName(arm, 'deps-native').digest, 'PyYAML differs per platform');
  assert.notEqual(amd.layers[0]?.digest, arm.layers[0]?.digest, 'each platform has its own base layer');

  const armConfig = await skopeoConfig(`${ref.slice(0, ref.lastIndexOf(':'))}@${arm.digest}`);
  assert.equal(armConfig.architecture, 'arm64');
  assert.equal(armConfig.os, 'linux');

  const repoUrl = `${reg.url}/v2/demo/multi`;
  for (const [platform, m] of [
    ['linux/amd64', amd],
    ['linux/arm64', arm],
  ] as const) {
    const machines = await elfMachines(repoUrl, byName(m, 'deps-native').digest);
    const names = [...machines.keys()];
    assert.ok(
      names.some((n) => /yaml\/_yaml\.cpython-311-.*\.so$/.test(n)),
      `${platform}: the C extension is in the layer (${names.join(', ')})`,
    );
    assert.ok(
      names.some((n) => n.endsWith('PyYAML.libs/libyaml-0.so.2')),
      `${platform}: vendored libyaml is in the layer`,
    );
    for (const [name, em] of machines) assert.equal(em, MACHINE[platform], `${platform}: ${name} has e_machine ${em}`);
  }

  const ran = await podmanRun(ref, ['-c', 'import yaml; print(yaml.__with_libyaml__)'], { entrypoint: ['python3'] });
  assert.equal(ran.stdout.trim(), 'True', 'the amd64 image pulls and its native PyYAML loads');
  const main = await podmanRun(ref, [], { pull: 'never' });
  assert.equal(main.stdout.trim(), 'True 1.16.0');
  await removeImages(ref);
});

test('a platform without a fitting wheel is an error naming the package, the platform and the wheels there are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-multi-nowheel-'));
  const only = join(dir, 'wheels');
  await mkdir(only);
  for (const f of ['PyYAML-6.0-cp311-cp311-linux_x86_64.whl', 'six-1.16.0-py3-none-any.whl']) await copyFile(join(wheels, f), join(only, f));
  await writeApp(join(dir, 'app'), only);
  await copyFile(join(app, 'requirements.txt'), join(dir, 'app', 'requirements.txt'));
  const r = await shale(['build', join(dir, 'app'), '--oci', join(dir, 'out')], env);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /pyyaml/i);
  assert.match(r.stderr, /linux\/arm64/);
  assert.match(r.stderr, /PyYAML-6\.0-cp311-cp311-linux_x86_64\.whl/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  await rm(dir, { recursive: true, force: true });
});

test('a platform the base lacks is an error naming the base and the platforms it has', async () => {
  const r = await shale(['build', app, '--platform', 'linux/amd64,linux/s390x', '--oci', join(app, 'never')], env);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /python:3\.11-slim/);
  assert.match(r.stderr, /linux\/s390x/);
  assert.match(r.stderr, /linux\/amd64, linux\/arm64/);
});

/** index.json, manifest.json and one blob of a tarball, read with tar(1). */
async function tarJson(file: string, member: string): Promise<unknown> {
  const { stdout } = await run('tar', ['-xOf', file, member]);
  return JSON.parse(stdout) as unknown;
}

test('--tar: two platforms keep both in index.json, manifest.json is the host platform; --platform picks one; podman loads both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-multi-tar-'));
  const both = join(dir, 'both.tar');
  const amdOnly = join(dir, 'amd64.tar');
  const rBoth = await shaleJson(['build', app, '--tar', both], env);
  const rOne = await shaleJson(['build', app, '--platform', 'linux/amd64', '--tar', amdOnly], env);

  const idx = (await tarJson(both, 'index.json')) as { manifests: Desc[] };
  assert.equal(idx.manifests[0]?.digest, rBoth.digest);
  const inner = (await tarJson(both, `blobs/sha256/${rBoth.digest.slice(7)}`)) as { mediaType: string; manifests: Desc[] };
  assert.equal(inner.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(inner.manifests.length, 2);
  const dm = (await tarJson(both, 'manifest.json')) as { Config: string }[];
  const cfg = (await tarJson(both, dm[0]?.Config ?? '')) as { architecture: string };
  assert.equal(cfg.architecture, 'amd64', 'manifest.json describes the host platform');

  const oneIdx = (await tarJson(amdOnly, 'index.json')) as { manifests: Desc[] };
  assert.equal(oneIdx.manifests[0]?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(oneIdx.manifests[0]?.digest, rOne.digest);
  const amdInIndex = inner.manifests.find((m) => m.platform?.architecture === 'amd64');
  assert.equal(amdInIndex?.digest, rOne.digest, 'the one-platform image is the amd64 entry of the index');

  for (const file of [both, amdOnly]) {
    const names = await loadTar(file);
    const name = names[0] ?? assert.fail(`podman load ${file} named no image`);
    const ran = await podmanRun(name, [], { pull: 'never' });
    assert.equal(ran.stdout.trim(), 'True 1.16.0');
    await removeImages(name);
  }
  assert.ok((await readFile(both)).length > (await readFile(amdOnly)).length);
  await rm(dir, { recursive: true, force: true });
});

test("validate on two platforms: each platform's ELF files (and base python3) are for its machine", async () => {
  const r = await shale(['validate', app], env);
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS native-files: .*linux\/amd64: 2 ELF files, all x86-64; linux\/arm64: 2 ELF files, all AArch64/m);
  assert.match(
    r.stdout,
    /^PASS entrypoint: linux\/amd64: .*\(x86-64 ELF\); linux\/arm64: python3 is \/usr\/bin\/python3 → \/usr\/bin\/python3\.11 \(AArch64 ELF\)$/m,
  );
  assert.match(r.stdout, /^PASS reproducible: /m);
});

test('validate: an x86-64 wheel mislabelled linux_aarch64 fails native-files (exit 1), naming the platform and the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shale-multi-wrongarch-'));
  const bad = join(dir, 'wheels');
  await mkdir(bad);
  await copyFile(join(wheels, 'PyYAML-6.0-cp311-cp311-linux_x86_64.whl'), join(bad, 'PyYAML-6.0-cp311-cp311-linux_x86_64.whl'));
  await copyFile(join(wheels, 'PyYAML-6.0-cp311-cp311-linux_x86_64.whl'), join(bad, 'PyYAML-6.0-cp311-cp311-linux_aarch64.whl'));
  await copyFile(join(wheels, 'six-1.16.0-py3-none-any.whl'), join(bad, 'six-1.16.0-py3-none-any.whl'));
  await writeApp(join(dir, 'app'), bad);
  await copyFile(join(app, 'requirements.txt'), join(dir, 'app', 'requirements.txt'));
  const r = await shale(['validate', join(dir, 'app')], env);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^FAIL native-files: linux\/arm64: \/usr\/local\/lib\/python3\.11\/dist-packages\/(yaml\/_yaml\.cpython-311-x86_64-linux-gnu\.so|PyYAML\.libs\/libyaml-0\.so\.2) \(layer deps-native-\d+\) is x86-64, not AArch64/m,
  );
  assert.doesNotMatch(r.stdout, /linux\/amd64: \/usr/);
  await rm(dir, { recursive: true, force: true });
});
