import type { BuildResult } from '../pipeline/result.js';
import { verdict, type CheckResult } from './result.js';

/**
 * Two builds of the same inputs, each ignoring every cache, gave the same digests (README,
 * "Image contents": every layer is reproducible). Names each layer that differs.
 */
export function checkReproducible(a: BuildResult, b: BuildResult): CheckResult {
  const problems: string[] = [];
  const key = (l: BuildResult['layers'][number]): string => `${l.name} (${l.platform})`;
  const second = new Map(b.layers.map((l) => [key(l), l.digest]));
  for (const l of a.layers) {
    const other = second.get(key(l));
    if (other !== l.digest) problems.push(`layer ${key(l)} was ${l.digest} then ${other ?? 'missing'}`);
  }
  if (problems.length === 0 && a.digest !== b.digest) problems.push(`the layers match but the image was ${a.digest} then ${b.digest} (config or manifest differs)`);
  return verdict('reproducible', problems, `two --no-cache builds gave the same ${a.digest} (${a.layers.length} layers)`);
}
