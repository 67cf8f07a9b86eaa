import type { LayerReport } from '../pipeline/result.js';
import type { CheckResult } from './result.js';

/** How often each kind of layer changes, least first: the order layers must come in. */
const RANK: Record<LayerReport['kind'], number> = { base: 0, system: 0.5, users: 1, 'ca-certs': 1, packages: 2, libs: 3, app: 4 };
const WHAT: Record<LayerReport['kind'], string> = {
  base: 'base image',
  system: 'system packages',
  users: 'users and writable directories',
  'ca-certs': 'CA certificates',
  packages: 'third-party packages',
  libs: 'local libraries',
  app: 'app code',
};

/**
 * Layer order runs from least to most often changed (README, "validate"): a layer of local
 * libraries above the app, or packages above libraries, makes every app change rebuild and
 * re-push what sits above it.
 */
export function checkLayerOrder(layers: readonly LayerReport[]): CheckResult {
  const problems: string[] = [];
  const byPlatform = new Map<string, LayerReport[]>();
  for (const l of layers) byPlatform.set(l.platform, [...(byPlatform.get(l.platform) ?? []), l]);
  for (const [platform, ls] of byPlatform) {
    for (let i = 1; i < ls.length; i++) {
      const [a, b] = [ls[i - 1]!, ls[i]!];
      if (RANK[a.kind] > RANK[b.kind]) {
        problems.push(
          `${platform}: layer ${a.name} (${WHAT[a.kind]}) comes before ${b.name} (${WHAT[b.kind]}), which change less often; reorder [[tool.shale.layers]]`,
        );
      }
    }
  }
  const names = [...new Set(layers.filter((l) => l.kind !== 'base').map((l) => l.name))];
  return {
    name: 'layer-order',
    ok: problems.length === 0,
    reason: problems.length ? problems.slice(0, 3).join('; ') : `${names.join(' → ')} run from least to most often changed`,
    problems,
  };
}
