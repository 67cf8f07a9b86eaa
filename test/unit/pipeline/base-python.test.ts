// The base's Python decides where the build installs and is checked against `python` in the
// config: a Debian-like base (no PYTHON_VERSION, python3.11 in /usr/bin) in the in-process
// registry is read once, its Python recorded on the image (`dev.shale.base.python`), and a
// `python` key naming another version stops the build before anything is made.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { noEvents } from '../../../src/events.js';
import { readLayout } from '../../../src/image/layout.js';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { Annotation } from '../../../src/oci/annotations.js';
import { MediaType, type ImageConfig, type Manifest } from '../../../src/oci/types.js';
import { build } from '../../../src/pipeline/build.js';
import { LayoutPublisher } from '../../../src/publish/layout.js';
import { readLayerEntries } from '../../../src/validate/layer-entries.js';
import { makeLayer, tmp } from '../publish/fixtures.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { appConfig, options, project } from './fixtures.js';

/** A one-layer base with Debian's python3.11 and no PYTHON_VERSION; returns its reference and its layer's digest. */
async function pushDebianBase(reg: FakeRegistry): Promise<{ ref: string; layer: string }> {
  const layer = await makeLayer('base', {
    'etc/debian_version': '12.7\n',
    'usr/bin/python3.11': '\x7fELF',
    'usr/lib/python3.11/os.py': '# os\n',
    'usr/lib/python3/dist-packages/README.txt': 'apt packages\n',
  });
  const chunks: Buffer[] = [];
  for await (const c of await layer.open()) chunks.push(c as Buffer);
  reg.putBlob('library/debian', Buffer.concat(chunks));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  };
  const configBytes = canonicalBytes(config);
  const configDigest = reg.putBlob('library/debian', configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest as Manifest['config']['digest'], size: configBytes.length },
    layers: [{ ...layer.descriptor, annotations: {} }],
  };
  reg.putManifest('library/debian', canonicalBytes(manifest), MediaType.OciManifest, 'bookworm');
  return { ref: `${reg.host}/library/debian:bookworm`, layer: layer.descriptor.digest };
}

describe("the base's Python", () => {
  let reg: FakeRegistry;
  let base = '';
  let layer = '';
  before(async () => {
    reg = await FakeRegistry.start();
    ({ ref: base, layer } = await pushDebianBase(reg));
  });
  after(() => reg.close());
  const layerGets = (): number => reg.requests('GET', new RegExp(`/blobs/${layer}$`)).length;

  it('python = "3.12" on a 3.11 base stops the build, naming both versions, before any layer is made', async () => {
    const spec = await project(appConfig(base, 'python = "3.12"\n'), { 'main.py': 'print(1)\n' });
    await assert.rejects(build(spec, options(await tmp(), []), noEvents), {
      code: 'SHALE_PYTHON_MISMATCH',
      message: /^python = "3\.12" in \[tool\.shale\], but base image .*library\/debian:bookworm has Python 3\.11 \(\/usr\/bin\/python3\.11\)/,
    });
  });

  it("without a python key, local libraries go where the base's python3.11 looks, and the image records it", async () => {
    const spec = await project(`${appConfig(base)}[[layers]]\nname = "libs"\npaths = ["libs/ledger"]\n`, { 'main.py': 'import ledger\n' });
    await mkdir(join(spec.projectDir, 'libs', 'ledger', 'ledger'), { recursive: true });
    await writeFile(join(spec.projectDir, 'libs', 'ledger', 'ledger', '__init__.py'), 'X = 1\n');
    const out = join(await tmp(), 'image');
    const cache = await tmp();
    await build(spec, options(cache, [new LayoutPublisher(out)]), noEvents);
    const art = await readLayout(out);
    assert.equal(art.kind, 'image');
    if (art.kind !== 'image') return;
    assert.equal(art.image.manifest.annotations?.[Annotation.BasePython], '3.11 debian');
    assert.equal(art.image.manifest.annotations?.[Annotation.BaseLibc], undefined, 'no wheels chosen: the C library was not read');
    const libs = art.image.layers.find((l) => l.descriptor.annotations?.[Annotation.LayerName] === 'libs') ?? assert.fail('no libs layer');
    const paths = (await readLayerEntries(() => libs.open(), 'libs')).map((e) => e.path);
    assert.ok(paths.includes('/usr/local/lib/python3.11/dist-packages/ledger/__init__.py'), paths.join('\n'));

    // The next build reads the record, not the base layer.
    const before = layerGets();
    await build(spec, options(cache, []), noEvents);
    assert.equal(layerGets(), before);
  });

  it('an app with nothing to install and no python key never reads the base layers', async () => {
    const spec = await project(appConfig(base), { 'main.py': 'print(1)\n' });
    const before = layerGets();
    await build(spec, options(await tmp(), []), noEvents);
    assert.equal(layerGets(), before);
  });
});
