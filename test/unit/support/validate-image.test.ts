// test/support/validate-image.ts finds what is structurally wrong with an image, so the tests
// that use it to check what shale reads and writes would notice.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { canonicalBytes } from '../../../src/oci/canonical-json.js';
import { sha256 } from '../../../src/oci/digest.js';
import type { Image } from '../../../src/oci/image.js';
import { artifactProblems } from '../../support/validate-image.js';
import { makeImage, makeLayer, tinyIndex } from '../publish/fixtures.js';

/** The image with its config replaced (manifest and digest made to match, so only the change is wrong). */
function withConfig(img: Image, change: (c: Record<string, unknown>) => void): Image {
  const config = JSON.parse(img.configBytes.toString('utf8')) as Record<string, unknown>;
  change(config);
  const configBytes = canonicalBytes(config);
  const manifest = { ...img.manifest, config: { ...img.manifest.config, digest: sha256(configBytes), size: configBytes.length } };
  const manifestBytes = canonicalBytes(manifest);
  return { ...img, config: config as unknown as Image['config'], configBytes, manifest, manifestBytes, digest: sha256(manifestBytes) };
}

describe('validate-image', () => {
  it('finds nothing wrong with a sound image or index', async () => {
    assert.deepEqual(await artifactProblems(await tinyIndex()), []);
  });

  it('finds a blob that is not what its descriptor says, and a wrong diff_id', async () => {
    const layer = await makeLayer('app', { 'a.txt': 'a' });
    const img = makeImage([{ ...layer, open: () => Promise.resolve(Readable.from([Buffer.from('other')])) }]);
    const problems = await artifactProblems({ kind: 'image', image: img });
    assert.ok(
      problems.some((p) => /layer 0's blob hashes to sha256:\w+, not /.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /layer 0's blob has 5 bytes/.test(p)),
      problems.join('\n'),
    );
    const wrongDiff = withConfig(makeImage([layer]), (c) => {
      (c['rootfs'] as { diff_ids: string[] }).diff_ids = [`sha256:${'0'.repeat(64)}`];
    });
    const p2 = await artifactProblems({ kind: 'image', image: wrongDiff });
    assert.ok(
      p2.some((p) => /uncompressed hashes to .* not the config's diff_id/.test(p)),
      p2.join('\n'),
    );
  });

  it('finds a history that does not have one entry per layer', async () => {
    const img = withConfig(makeImage([await makeLayer('app', { 'a.txt': 'a' })]), (c) => {
      c['history'] = [{ created_by: 'a' }, { created_by: 'b' }];
    });
    assert.ok((await artifactProblems({ kind: 'image', image: img })).some((p) => /the history has 2 non-empty entries for 1 layers/.test(p)));
  });

  it("finds an index entry that points at no image, and a digest that is not the bytes'", async () => {
    const art = await tinyIndex();
    if (art.kind !== 'index') throw new Error('fixture');
    const broken = { ...art.index, images: art.index.images.slice(1), digest: `sha256:${'1'.repeat(64)}` as const };
    const problems = await artifactProblems({ kind: 'index', index: broken });
    assert.ok(
      problems.some((p) => /the index bytes hash to/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /points at no image of the index/.test(p)),
      problems.join('\n'),
    );
  });
});
