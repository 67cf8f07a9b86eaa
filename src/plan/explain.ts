import type { LayerInputs } from './layers.js';

const LIMIT = 5;

function list(items: string[], what: string): string[] {
  if (!items.length) return [];
  const shown = items.slice(0, LIMIT).join(', ');
  return [`${shown}${items.length > LIMIT ? ` and ${items.length - LIMIT} more` : ''} ${what}`];
}

/**
 * Says which inputs differ between the last build of a layer and this one, in the words of
 * `--explain`: "app/api.py changed", "numpy 2.3.0 → 2.4.6", "SOURCE_DATE_EPOCH changed".
 */
export function describeChange(prev: LayerInputs, next: LayerInputs): string {
  const out: string[] = [];
  if (prev.kind !== next.kind) return `the layer now holds ${next.kind} instead of ${prev.kind}`;
  if (prev.format !== next.format) out.push("shale's layer format changed");
  if (prev.epoch !== next.epoch) out.push('SOURCE_DATE_EPOCH changed');
  if (prev.kind === 'packages' && next.kind === 'packages') {
    if (JSON.stringify(prev.layout) !== JSON.stringify(next.layout)) out.push("the base image's Python layout changed");
    const before = new Map(prev.wheels.map((w) => [w.name, w]));
    const after = new Map(next.wheels.map((w) => [w.name, w]));
    const changed: string[] = [];
    for (const [name, w] of after) {
      const b = before.get(name);
      if (!b) continue;
      if (b.version !== w.version) changed.push(`${name} ${b.version} → ${w.version}`);
      else if (b.sha256 !== w.sha256) changed.push(`${name} ${w.version} (another wheel: ${w.wheel})`);
      else if (b.bytecode !== w.bytecode) changed.push(`${name} bytecode (${w.bytecode ?? 'none'})`);
    }
    out.push(...list(changed, 'changed'));
    out.push(...list([...after.keys()].filter((n) => !before.has(n)), 'added'));
    out.push(...list([...before.keys()].filter((n) => !after.has(n)), 'removed'));
  } else if (prev.kind !== 'packages' && next.kind !== 'packages') {
    const before = new Map(prev.files.map((f) => [f.path, f]));
    const after = new Map(next.files.map((f) => [f.path, f]));
    const files = (m: Map<string, { kind: string }>, other: Map<string, unknown>) => [...m.entries()].filter(([p, f]) => f.kind !== 'd' && !other.has(p)).map(([p]) => p);
    const changed = [...after.entries()].filter(([p, f]) => {
      const b = before.get(p);
      return b && (b.content !== f.content || b.kind !== f.kind);
    });
    out.push(...list(changed.map(([p, f]) => (before.get(p)?.content === f.content ? `${p} (mode)` : p)), 'changed'));
    out.push(...list(files(after, before), 'added'));
    out.push(...list(files(before, after), 'removed'));
  }
  return out.length ? out.join('; ') : 'inputs changed';
}
