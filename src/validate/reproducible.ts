import type { BuildResult } from '../pipeline/result.js';
import { verdict, type CheckResult } from './result.js';

/**
 * Two builds of the same inputs, each ignoring every cache, gave the same digests (README,
 * "Image contents": every layer is reproducible). Names each layer that differs.
 */
export function checkReproducible(a: BuildResult, b: BuildResult): CheckResult {
  const problems: string[] = [];
  // Layers are matched by name, platform and place among the layers of that name: a base has
  // several layers all named "base".
  const keys = (layers: BuildResult['layers']): string[] => {
    const total = new Map<string, number>();
    for (const l of layers) total.set(`${l.name} (${l.platform})`, (total.get(`${l.name} (${l.platform})`) ?? 0) + 1);
    const seen = new Map<string, number>();
    return layers.map((l) => {
      const k = `${l.name} (${l.platform})`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      return (total.get(k) ?? 0) > 1 ? `${l.name} #${seen.get(k) ?? 0} (${l.platform})` : k;
    });
  };
  const second = new Map(keys(b.layers).map((k, i) => [k, b.layers[i]?.digest]));
  keys(a.layers).forEach((k, i) => {
    const digest = a.layers[i]?.digest;
    const other = second.get(k);
    if (other !== digest) problems.push(`layer ${k} was ${digest} then ${other ?? 'missing'}`);
  });
  if (problems.length === 0 && a.digest !== b.digest)
    problems.push(`the layers match but the image was ${a.digest} then ${b.digest} (config or manifest differs)`);
  return verdict('reproducible', problems, `two --no-cache builds gave the same ${a.digest} (${a.layers.length} layers)`);
}
