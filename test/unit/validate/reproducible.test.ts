import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BuildResult, LayerReport } from '../../../src/pipeline/result.js';
import { checkReproducible } from '../../../src/validate/reproducible.js';

const layer = (name: string, digest: string): LayerReport => ({
  name,
  kind: name === 'base' ? 'base' : 'app',
  digest: `sha256:${digest.repeat(64)}` as LayerReport['digest'],
  size: 1,
  source: 'built',
  platform: 'linux/amd64',
  reason: '',
});
const result = (layers: LayerReport[]): BuildResult => ({
  digest: ('sha256:' + 'f'.repeat(64)) as BuildResult['digest'],
  layers,
  pushed: { bytes: 0, blobs: 0 },
  seconds: 0,
  outputs: [],
});

test('reproducible: a base of several layers (all named "base") is compared layer by layer, in order', () => {
  const a = result([layer('base', 'a'), layer('base', 'b'), layer('app', 'c')]);
  assert.equal(checkReproducible(a, result([layer('base', 'a'), layer('base', 'b'), layer('app', 'c')])).ok, true);
  const changed = checkReproducible(a, result([layer('base', 'a'), layer('base', 'b'), layer('app', 'd')]));
  assert.equal(changed.ok, false);
  assert.match(changed.reason, /layer app \(linux\/amd64\) was sha256:c+ then sha256:d+/);
  const swapped = checkReproducible(a, result([layer('base', 'b'), layer('base', 'a'), layer('app', 'c')]));
  assert.match(swapped.reason, /layer base #1 \(linux\/amd64\) was sha256:a+ then sha256:b+/);
});
