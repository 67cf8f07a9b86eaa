import { existsSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { AppSource } from '../config/spec.js';
import type { LayerInputs } from './layers.js';

const LIMIT = 5;

/** The names only `after` has ("… added") and only `before` has ("… removed"). */
function addedAndRemoved(before: ReadonlyMap<string, unknown>, after: ReadonlyMap<string, unknown>): string[] {
  return [
    ...list(
      [...after.keys()].filter((n) => !before.has(n)),
      'added',
    ),
    ...list(
      [...before.keys()].filter((n) => !after.has(n)),
      'removed',
    ),
  ];
}

function list(items: string[], what: string): string[] {
  if (!items.length) return [];
  const shown = items.slice(0, LIMIT).join(', ');
  return [`${shown}${items.length > LIMIT ? ` and ${items.length - LIMIT} more` : ''} ${what}`];
}

/**
 * Says which inputs differ between the last build of a layer and this one, in the words of
 * `--explain`: "api.py changed", "numpy 2.3.0 → 2.4.6", "SOURCE_DATE_EPOCH changed". `named`
 * turns a file layer's image path into what the user knows it as (an app or local library file's project path).
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
    out.push(...addedAndRemoved(before, after));
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
    out.push(...addedAndRemoved(before, after));
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

/** A local library's file in the image: `<site dir>/<top-level package or module>[/<rest>]`. */
const SITE_FILE = /(?:^|\/)(?:site|dist)-packages\/([^/]+)(?:\/(.*))?$/;

/**
 * Where a local library's installed file came from: the library whose `src/<top>`, `<top>` or
 * (a library that is itself the package) own directory holds its top-level package, in the order
 * python/local-lib.ts looks. Undefined for what the install made (dist-info, console scripts) or
 * a package no library has any more.
 */
function libSource(imagePath: string, libDirs: readonly string[]): string | undefined {
  const m = SITE_FILE.exec(imagePath);
  const top = m?.[1];
  if (top === undefined || /\.(dist|egg)-info$/.test(top)) return undefined;
  const rest = m?.[2];
  for (const dir of libDirs) {
    const candidates = [join(dir, 'src', top), join(dir, top), ...(basename(dir) === top ? [dir] : [])];
    const hit = candidates.find((c) => existsSync(c));
    if (hit) return rest === undefined ? hit : join(hit, rest);
  }
  return undefined;
}

/**
 * Names a file layer's file by its project path: an app file through the `app` source whose
 * destination holds it (the deepest one: "app/main.py" in the image → "main.py" when `app = ["."]`
 * goes to /app); a local library's file through the library (`libDirs`, absolute) it was installed
 * from ("…/site-packages/ledger_core/x.py" → "libs/ledger_core/src/ledger_core/x.py"). Other
 * layers' files, and paths nothing explains, keep their image path.
 */
export function projectPathOf(
  projectDir: string,
  app: readonly AppSource[],
  libDirs: readonly string[] = [],
): (imagePath: string, kind: LayerInputs['kind']) => string {
  const sources = app.map((a) => ({ ...a, to: a.to.replace(/^\/+/, '').replace(/\/+$/, '') })).sort((a, b) => b.to.length - a.to.length);
  const project = (abs: string, fallback: string): string => relative(projectDir, abs).split(sep).join('/') || fallback;
  return (p, kind) => {
    if (kind === 'libs') {
      const from = libSource(p, libDirs);
      return from === undefined ? p : project(from, p);
    }
    if (kind !== 'app') return p;
    for (const s of sources) {
      const rest = s.to === '' ? p : p === s.to ? '' : p.startsWith(`${s.to}/`) ? p.slice(s.to.length + 1) : undefined;
      if (rest === undefined || (s.kind === 'file' && rest !== '')) continue;
      return project(s.kind === 'file' ? s.from : join(s.from, rest), p);
    }
    return p;
  };
}
