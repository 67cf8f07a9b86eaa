import { join, relative, sep } from 'node:path';
import type { AppSource } from '../config/spec.js';
import type { LayerInputs } from './layers.js';

const LIMIT = 5;

function list(items: string[], what: string): string[] {
  if (!items.length) return [];
  const shown = items.slice(0, LIMIT).join(', ');
  return [`${shown}${items.length > LIMIT ? ` and ${items.length - LIMIT} more` : ''} ${what}`];
}

/**
 * Says which inputs differ between the last build of a layer and this one, in the words of
 * `--explain`: "api.py changed", "numpy 2.3.0 → 2.4.6", "SOURCE_DATE_EPOCH changed". `named`
 * turns a file layer's image path into what the user knows it as (the app's project path).
 */
export function describeChange(prev: LayerInputs, next: LayerInputs, named: (path: string, kind: LayerInputs['kind']) => string = (p) => p): string {
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
    out.push(
      ...list(
        [...after.keys()].filter((n) => !before.has(n)),
        'added',
      ),
    );
    out.push(
      ...list(
        [...before.keys()].filter((n) => !after.has(n)),
        'removed',
      ),
    );
  } else if (prev.kind === 'system' && next.kind === 'system') {
    const before = new Map(prev.debs.map((d) => [d.name, d]));
    const after = new Map(next.debs.map((d) => [d.name, d]));
    out.push(
      ...list(
        [...after.values()]
          .filter((d) => before.has(d.name) && before.get(d.name)!.sha256 !== d.sha256)
          .map((d) => `${d.name} ${before.get(d.name)!.version} → ${d.version}`),
        'changed',
      ),
    );
    out.push(
      ...list(
        [...after.keys()].filter((n) => !before.has(n)),
        'added',
      ),
    );
    out.push(
      ...list(
        [...before.keys()].filter((n) => !after.has(n)),
        'removed',
      ),
    );
    if (prev.dpkg !== next.dpkg) out.push("the base image's dpkg status changed");
  } else if (prev.kind !== 'packages' && next.kind !== 'packages' && prev.kind !== 'system' && next.kind !== 'system') {
    const before = new Map(prev.files.map((f) => [f.path, f]));
    const after = new Map(next.files.map((f) => [f.path, f]));
    const files = (m: Map<string, { kind: string }>, other: Map<string, unknown>) =>
      [...m.entries()].filter(([p, f]) => f.kind !== 'd' && !other.has(p)).map(([p]) => p);
    const changed = [...after.entries()].filter(([p, f]) => {
      const b = before.get(p);
      return b && (b.content !== f.content || b.kind !== f.kind);
    });
    const name = (p: string): string => named(p, next.kind);
    out.push(
      ...list(
        changed.map(([p, f]) => (before.get(p)?.content === f.content ? `${name(p)} (mode)` : name(p))),
        'changed',
      ),
    );
    out.push(...list(files(after, before).map(name), 'added'));
    out.push(...list(files(before, after).map(name), 'removed'));
  }
  return out.length ? out.join('; ') : 'inputs changed';
}

/**
 * Names an app layer's file by its project path ("app/main.py" in the image → "main.py" when
 * `app = ["."]` goes to /app), through the `app` source whose destination holds it (the deepest
 * one). Other layers' files, and paths no source explains, keep their image path.
 */
export function projectPathOf(projectDir: string, app: readonly AppSource[]): (imagePath: string, kind: LayerInputs['kind']) => string {
  const sources = app.map((a) => ({ ...a, to: a.to.replace(/^\/+/, '').replace(/\/+$/, '') })).sort((a, b) => b.to.length - a.to.length);
  return (p, kind) => {
    if (kind !== 'app') return p;
    for (const s of sources) {
      const rest = s.to === '' ? p : p === s.to ? '' : p.startsWith(`${s.to}/`) ? p.slice(s.to.length + 1) : undefined;
      if (rest === undefined || (s.kind === 'file' && rest !== '')) continue;
      return (
        relative(projectDir, s.kind === 'file' ? s.from : join(s.from, rest))
          .split(sep)
          .join('/') || p
      );
    }
    return p;
  };
}
