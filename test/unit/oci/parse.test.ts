// oci/parse: what comes back is built from checked fields (never the JSON cast as it is), and
// carries the fields the model does not name unchanged, so nothing written back loses them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { OciParseError, parseConfig, parseIndex, parseManifest } from '../../../src/oci/parse.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('oci/parse', () => {
  it("a config keeps Docker's nulls and the fields shale does not model, byte for byte", () => {
    const raw = {
      architecture: 'amd64',
      os: 'linux',
      'moby.buildkit.buildinfo.v1': 'e30=',
      config: { Env: null, Labels: null, ExposedPorts: null, Healthcheck: { Test: ['NONE'] }, Entrypoint: ['/e'], User: 'app' },
      rootfs: { type: 'layers', diff_ids: [d('1')] },
      history: [{ created_by: 'x', empty_layer: false, extra: 1 }],
    };
    const config = parseConfig(json(raw), 'config');
    assert.deepEqual(canonicalBytes(config), canonicalBytes(raw));
    assert.equal(config.config?.Env, null);
    assert.deepEqual(config.config?.Entrypoint, ['/e']);
  });

  it('`"config": null` is a config with no container settings', () => {
    const config = parseConfig(json({ architecture: 'amd64', os: 'linux', config: null, rootfs: { type: 'layers', diff_ids: [] } }), 'config');
    assert.equal('config' in config, false);
  });

  it('a manifest keeps layer descriptors whole (annotations, urls, unknown fields) and gets a media type', () => {
    const layer = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: d('a'),
      size: 3,
      urls: ['https://x/y'],
      annotations: { k: 'v' },
      data: 'AAA=',
    };
    const m = parseManifest(json({ schemaVersion: 2, config: { mediaType: 'c', digest: d('c'), size: 1 }, layers: [layer], subject: { x: 1 } }), 'manifest');
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(m.layers[0], layer);
    assert.deepEqual((m as unknown as { subject: unknown }).subject, { x: 1 });
  });

  it("an index keeps its entries' platforms whole (os.version included)", () => {
    const entry = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: d('b'),
      size: 9,
      platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
    };
    const idx = parseIndex(json({ schemaVersion: 2, manifests: [entry] }), 'index');
    assert.deepEqual(idx.manifests[0], entry);
  });

  it('says where a field is wrong', () => {
    const bad = (f: () => unknown, message: RegExp): void =>
      assert.throws(f, (e: unknown) => e instanceof OciParseError && e.code === 'SHALE_BAD_OCI' && message.test(e.message));
    bad(
      () => parseManifest(json({ schemaVersion: 2, config: { mediaType: 'c', digest: 'sha256:nope', size: 1 }, layers: [] }), 'manifest M'),
      /^manifest M: config\.digest is not a sha256 digest: "sha256:nope"$/,
    );
    bad(
      () => parseManifest(json({ schemaVersion: 2, config: { mediaType: 'c', digest: d('c'), size: -1 }, layers: [] }), 'manifest M'),
      /config\.size should be a non-negative integer/,
    );
    bad(
      () => parseConfig(json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('1')] }, config: { Env: 'PATH=/bin' } }), 'config C'),
      /^config C: config\.Env should be an array of strings$/,
    );
    bad(
      () => parseConfig(json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ empty_layer: 'yes' }] }), 'config C'),
      /history\[0\]\.empty_layer should be true or false/,
    );
    bad(
      () => parseConfig(json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'other', diff_ids: [] } }), 'config C'),
      /rootfs\.type should be "layers"/,
    );
    bad(() => parseIndex(Buffer.from('{'), 'index I'), /^index I is not valid JSON/);
    bad(() => parseIndex(json({ schemaVersion: 1, manifests: [] }), 'index I'), /schemaVersion should be 2/);
  });
});
