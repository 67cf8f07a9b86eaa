import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerReport } from '../../../src/pipeline/result.js';
import { checkLayerOrder } from '../../../src/validate/layer-order.js';

const layer = (name: string, kind: LayerReport['kind'], platform = 'linux/amd64'): LayerReport => ({
  name,
  kind,
  platform,
  digest: `sha256:${'0'.repeat(64)}`,
  size: 1,
  source: 'built',
  reason: '',
});

test('layers from base to app pass, on every platform', () => {
  const r = checkLayerOrder([
    layer('base', 'base'),
    layer('pip_deps', 'packages'),
    layer('libs', 'libs'),
    layer('app', 'app'),
    layer('base', 'base', 'linux/arm64'),
    layer('app', 'app', 'linux/arm64'),
  ]);
  assert.equal(r.ok, true);
  assert.match(r.reason, /pip_deps → libs → app/);
});

test('local libraries below third-party packages fail, naming both layers', () => {
  const r = checkLayerOrder([layer('base', 'base'), layer('libs', 'libs'), layer('pip_deps', 'packages'), layer('app', 'app')]);
  assert.equal(r.ok, false);
  assert.match(r.reason, /layer libs \(local libraries\) comes before pip_deps \(third-party packages\)/);
});
