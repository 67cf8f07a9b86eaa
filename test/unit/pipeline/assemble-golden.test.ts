// Golden digests of assembled images: a base config and manifest as registries serve them
// (Docker media types, `null` fields, fields shale does not model, a variant), read through
// oci/parse and put together by pipeline/assemble over oci/mutate. The digests were recorded
// before assembly moved onto oci/mutate; any change here changes every image shale builds.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { lazyLayer, type Layer } from '../../../src/oci/image.js';
import { parseConfig, parseManifest } from '../../../src/oci/parse.js';
import type { Digest } from '../../../src/oci/types.js';
import { assembleImage, assembleIndex, type AppLayer, type BaseImage, type ImageSettings } from '../../../src/pipeline/assemble.js';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const nothing = (): Promise<Readable> => Promise.reject(new Error('assembly never opens a layer'));

const BASE_CONFIG = {
  architecture: 'arm64',
  os: 'linux',
  variant: 'v8',
  created: '2024-01-02T03:04:05.123456789Z',
  docker_version: '24.0.7',
  container: 'abc',
  container_config: { Hostname: 'abc' },
  'moby.buildkit.buildinfo.v1': 'eyJ9',
  config: {
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHON_VERSION=3.11.9', 'LANG=C.UTF-8'],
    Cmd: ['python3'],
    Labels: null,
    ExposedPorts: null,
    OnBuild: null,
    ArgsEscaped: true,
    User: '',
    Volumes: null,
    WorkingDir: '',
  },
  rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] },
  history: [
    { created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
    { created: '2024-01-01T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["bash"]', empty_layer: true },
    { created: '2024-01-01T00:00:02Z', created_by: 'RUN apt-get install python3', comment: 'buildkit.dockerfile.v0' },
  ],
};
const BASE_MANIFEST = {
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('0'), size: 1 },
  layers: [
    { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('a'), size: 1234 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 99, annotations: { 'x.y': 'z' }, urls: ['https://example.com/b'] },
  ],
};

/** A base as the registry would give it: config and layer descriptors parsed from bytes. */
function base(name: string, digest: Digest, config: object, facts?: Record<string, string>): BaseImage {
  const parsed = parseConfig(Buffer.from(JSON.stringify(config)), 'test config');
  const manifest = parseManifest(Buffer.from(JSON.stringify(BASE_MANIFEST)), 'test manifest');
  const layers: Layer[] = manifest.layers.map((desc, i) => lazyLayer(desc, parsed.rootfs.diff_ids[i]!, nothing));
  return { name, digest, config: parsed, layers, ...(facts === undefined ? {} : { facts }) };
}

const app: AppLayer[] = [
  {
    layer: lazyLayer(
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: d('c'),
        size: 10,
        annotations: { 'dev.shale.layer.name': 'packages', 'dev.shale.layer.inputs': d('e') },
      },
      d('3'),
      nothing,
    ),
    createdBy: 'shale: packages (flask==3.1.3)',
  },
  {
    layer: lazyLayer(
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: d('f'),
        size: 11,
        annotations: { 'dev.shale.layer.name': 'app', 'dev.shale.layer.inputs': d('9') },
      },
      d('4'),
      nothing,
    ),
    createdBy: 'shale: app',
  },
];
const settingsA: ImageSettings = {
  entrypoint: ['python3', '-m', 'app'],
  cmd: [],
  env: { PORT: '8000', LANG: 'en_US.UTF-8' },
  workdir: '/app',
  labels: { team: 'x' },
  ports: [8000, 9000],
  user: '1000:1000',
};
const settingsB: ImageSettings = { entrypoint: [], cmd: [], env: {}, workdir: '/srv', labels: {}, ports: [], user: '' };
const baseA = base('docker.io/library/python:3.11-slim', d('7'), BASE_CONFIG, { 'dev.shale.base.libc': 'glibc 2.36' });
const baseB = base('example.com/base:1', d('8'), {
  ...BASE_CONFIG,
  config: { ...BASE_CONFIG.config, ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' }, Entrypoint: ['/entry'] },
});

describe('assembled images keep their golden digests', () => {
  const a = assembleImage(baseA, settingsA, app, { os: 'linux', architecture: 'arm64' }, 1700000000, { 'dev.shale.python.packages': 'flask==3.1.3' });
  const b = assembleImage(baseB, settingsB, app, { os: 'linux', architecture: 'arm', variant: 'v7' }, 0);
  const c = assembleImage(baseB, settingsB, [], { os: 'linux', architecture: 'amd64' }, 0);

  it('an app on a Docker-made base: settings on top, Docker fields dropped, nulls and unknown fields kept', () => {
    assert.equal(a.digest, 'sha256:ef49532444b229952ecef66bf5629624ebabf577bde94f3b6cbc13c0b8518221');
    assert.equal(a.manifest.config.digest, 'sha256:535dcf87f90b89eb7d4e028cf9c0b782e546a7e94b121822b9226676414d67c5');
    // The image's layers are described as its manifest lists them (Docker's gzip type become OCI's).
    assert.deepEqual(
      a.layers.map((l) => l.descriptor),
      a.manifest.layers,
    );
  });

  it("no entrypoint, cmd, ports or user of its own: the base's kept; another variant", () => {
    assert.equal(b.digest, 'sha256:5d27119e12a2c77ce56e9cadbe2ec07d7961cf7668fbcd04f72a6b3f6d612cd8');
  });

  it('no layers of its own: an empty history entry list is still written', () => {
    assert.equal(c.digest, 'sha256:9a7a9674a0ef8be5022c42bc5d4f516346395da09c09780b2c3f65d0f1a7f67c');
  });

  it('an index over two platforms', () => {
    assert.equal(assembleIndex([a, b], 1700000000).digest, 'sha256:aa65e974f82951590953dfc260731cbd234ca2ddfee5759259dfb40c4ae5a2c0');
  });
});
