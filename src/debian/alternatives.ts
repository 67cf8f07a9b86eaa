/**
 * `update-alternatives --install` calls of postinst scripts, laid as dpkg's script would leave
 * them in automatic mode: the generic name a symlink to /etc/alternatives/NAME, that a symlink to
 * the highest-priority path, slaves alike, and dpkg's record in /var/lib/dpkg/alternatives/NAME.
 * Only literal calls are read (a call built from shell variables is left out, and said).
 */
import { posix } from 'node:path';
import { bufferEntry, type Entry } from '../layer/entry.js';

/** One `--install` call: the master link and its slaves. */
export interface Alternative {
  link: string;
  name: string;
  path: string;
  priority: number;
  slaves: { link: string; name: string; path: string }[];
}

/** The literal `update-alternatives --install` calls of a script (continuation lines joined). */
export function installCalls(script: string): Alternative[] {
  const out: Alternative[] = [];
  const joined = script.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const at = line.indexOf('update-alternatives');
    if (at < 0) continue;
    const words = line
      .slice(at)
      .split(/\s+/)
      .filter((w) => w !== '' && !/^(--quiet|--force)$/.test(w));
    const i = words.indexOf('--install');
    if (i < 0) continue;
    const [link, name, path, priority] = words.slice(i + 1, i + 5);
    if (!link || !name || !path || !priority || ![link, name, path, priority].every((w) => /^[A-Za-z0-9_./+-]+$/.test(w))) continue;
    const alt: Alternative = { link, name, path, priority: Number(priority), slaves: [] };
    for (let j = i + 5; j + 3 < words.length + 1 && words[j] === '--slave'; j += 4) {
      const [sl, sn, sp] = words.slice(j + 1, j + 4);
      if (sl && sn && sp && [sl, sn, sp].every((w) => /^[A-Za-z0-9_./+-]+$/.test(w))) alt.slaves.push({ link: sl, name: sn, path: sp });
    }
    if (Number.isFinite(alt.priority)) out.push(alt);
  }
  return out;
}

const rel = (p: string): string => p.replace(/^\/+/, '');

/**
 * The entries of the alternatives `calls` set up (the best by priority per name, as automatic
 * mode chooses), given the paths the layer holds: an alternative whose path is not there is skipped.
 */
export function alternativeEntries(calls: readonly Alternative[], has: (path: string) => boolean): Entry[] {
  const byName = new Map<string, Alternative[]>();
  for (const c of calls) if (has(rel(c.path))) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const out: Entry[] = [];
  for (const [name, all] of [...byName].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const best = [...all].sort((a, b) => b.priority - a.priority || (a.path < b.path ? -1 : 1))[0]!;
    out.push({ type: 'symlink', path: rel(best.link), target: `/etc/alternatives/${name}` });
    out.push({ type: 'symlink', path: `etc/alternatives/${name}`, target: best.path });
    for (const s of best.slaves) {
      if (!has(rel(s.path))) continue;
      out.push({ type: 'symlink', path: rel(s.link), target: `/etc/alternatives/${s.name}` });
      out.push({ type: 'symlink', path: `etc/alternatives/${s.name}`, target: s.path });
    }
    // dpkg's record (update-alternatives(1) "administrative directory" format).
    const slaveNames = best.slaves.map((s) => `${s.name}\n${s.link}\n`).join('');
    const choices = all
      .map(
        (c) =>
          `${c.path}\n${c.priority}\n${best.slaves
            .map((s) => c.slaves.find((x) => x.name === s.name)?.path ?? '')
            .map((p) => `${p}\n`)
            .join('')}`,
      )
      .join('');
    out.push(bufferEntry(`var/lib/dpkg/alternatives/${name}`, `auto\n${best.link}\n${slaveNames}\n${choices}\n`));
  }
  return out;
}

/** A path the entries hold, through posix normalisation (for `has`). */
export const normal = (p: string): string => posix.normalize(rel(p));
