// Pinning an image: a reference resolved with the registry (tag or digest), or a build's --json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShaleError } from '../../../src/errors.js';
import { imageFromBuildJson, pinnedString, resolveImage } from '../../../src/deploy/resolve.js';
import { MediaType } from '../../../src/oci/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { FakeRegistry } from '../support/fake-registry.js';

const failure = async (p: Promise<unknown>): Promise<ShaleError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShaleError, String(err));
  return err;
};

describe('resolveImage', () => {
  let reg: FakeRegistry;
  let client: RegistryClient;
  before(async () => {
    reg = await FakeRegistry.start();
    client = new RegistryClient({ retry: { tries: 1 } });
  });
  after(async () => {
    await client.close();
    await reg.close();
  });

  it('resolves a tag to the digest the registry holds', async () => {
    const d = reg.putManifest('demo/hello', Buffer.from('{"schemaVersion":2,"layers":[]}'), MediaType.OciManifest, 'v1');
    const pinned = await resolveImage(`${reg.host}/demo/hello:v1`, client);
    assert.equal(pinnedString(pinned), `${reg.host}/demo/hello@${d}`);
  });

  it('keeps a digest reference after checking the registry has it; drops a tag next to it', async () => {
    const d = reg.putManifest('demo/hello', Buffer.from('{"schemaVersion":2,"layers":[{}]}'), MediaType.OciManifest);
    assert.equal(pinnedString(await resolveImage(`${reg.host}/demo/hello:whatever@${d}`, client)), `${reg.host}/demo/hello@${d}`);
    const e = await failure(resolveImage(`${reg.host}/demo/hello@sha256:${'0'.repeat(64)}`, client));
    assert.equal(e.exitCode, 2);
  });

  it('an unknown tag or a bad reference is exit 2', async () => {
    const e = await failure(resolveImage(`${reg.host}/demo/hello:missing`, client));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /not found in registry/);
    const bad = await failure(resolveImage('https://x/y', client));
    assert.equal(bad.exitCode, 2);
    assert.match(bad.message, /^--image: invalid image reference/);
  });
});

describe('imageFromBuildJson', () => {
  const write = async (value: unknown): Promise<string> => {
    const f = join(await mkdtemp(join(tmpdir(), 'shale-deploy-json-')), 'build.json');
    await writeFile(f, typeof value === 'string' ? value : JSON.stringify(value));
    return f;
  };
  const digest = `sha256:${'e'.repeat(64)}`;

  it("pins the build's pushed reference to its digest", async () => {
    const f = await write({ digest, layers: [], outputs: ['127.0.0.1:5000/demo/hello:1'], reference: '127.0.0.1:5000/demo/hello:1' });
    assert.equal(pinnedString(await imageFromBuildJson(f)), `127.0.0.1:5000/demo/hello@${digest}`);
  });

  it('a build that did not push, or a file that is not the JSON, is exit 2', async () => {
    for (const [content, re] of [
      [{ digest, outputs: ['out.tar'] }, /has no "reference" field/],
      [{ digest: 'sha256:xyz', reference: 'a/b:1' }, /has no "digest" field/],
      ['not json', /--from-json .*build\.json: /],
    ] as const) {
      const e = await failure(imageFromBuildJson(await write(content)));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, re);
    }
  });
});
