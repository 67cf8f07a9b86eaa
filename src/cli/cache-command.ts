import { InputError } from '../errors.js';
import { CACHE_KINDS, cacheUsage, pruneCache, type PruneOptions, type Tally } from '../store/cache-prune.js';
import { formatBytes, table } from './format.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `5GB`, `500 MB`, `1.5GiB`, `0` → bytes. */
export function parseSize(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new InputError('SHALE_BAD_FLAG', `${flag}: "${value}" is not a size; write it like 5GB, 500MB or 2GiB`);
  return Math.floor(Number(m[1]) * unit);
}

/**
 * `30d`, `12h`, `90m`, `45s`, `2w` → milliseconds. Zero needs no unit (`0`, `0s` and `0d` all
 * mean "unused for any time": prune still keeps what was used in its last minutes of grace);
 * any other number must say its unit, as `5` could be minutes or days.
 */
export function parseAge(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m && m[2] === '' && Number(m[1]) === 0 ? 0 : AGE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined)
    throw new InputError(
      'SHALE_BAD_FLAG',
      `${flag}: "${value}" is not an age; write it like 30d, 12h, 90m, 45s or 2w, or 0 for everything not used in the last 10 minutes`,
    );
  return Number(m[1]) * unit;
}

const ago = (ms: number | undefined, now: number): string => {
  if (ms === undefined) return '-';
  const d = (now - ms) / 86_400_000;
  return d < 1 / 24 ? 'just now' : d < 1 ? `${Math.round(d * 24)} h ago` : `${Math.round(d)} d ago`;
};
const tally = (t: Tally): string => `${t.files} (${formatBytes(t.bytes)})`;

/** `shale cache info`: what the cache holds, by kind. */
export async function cacheInfoCommand(cacheDir: string, flags: Record<string, unknown>): Promise<void> {
  const now = Date.now();
  const u = await cacheUsage(cacheDir, now);
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(u)}\n`);
    return;
  }
  const rows = CACHE_KINDS.map((k) => {
    const t = u.kinds[k];
    return [k, String(t.files), formatBytes(t.bytes), ago(t.newestUse, now), ago(t.oldestUse, now)];
  });
  rows.push(['metadata', String(u.metadata.files), formatBytes(u.metadata.bytes), '', '']);
  if (u.stale.files) rows.push(['stale temp files', String(u.stale.files), formatBytes(u.stale.bytes), '', '']);
  process.stdout.write(`${cacheDir}\n${table(['KIND', 'ITEMS', 'SIZE', 'LAST USED', 'LEAST RECENTLY USED'], rows)}`);
}

/** `shale cache prune`: stale temporary files, then what was not used for a while, then down to a size. */
export async function cachePruneCommand(cacheDir: string, flags: Record<string, unknown>): Promise<void> {
  const opts: PruneOptions = { dryRun: flags.dryRun === true };
  const unusedFor = typeof flags.unusedFor === 'string' ? flags.unusedFor : flags.maxSize === undefined ? '30d' : undefined;
  if (unusedFor !== undefined) opts.unusedForMs = parseAge('--unused-for', unusedFor);
  if (typeof flags.maxSize === 'string') opts.maxBytes = parseSize('--max-size', flags.maxSize);
  const r = await pruneCache(cacheDir, opts);
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify({ dryRun: opts.dryRun, ...r })}\n`);
    return;
  }
  const verb = opts.dryRun ? 'would remove' : 'removed';
  const parts = CACHE_KINDS.filter((k) => r.removed[k].files > 0).map((k) => `${k} ${tally(r.removed[k])}`);
  if (r.removed.stale.files) parts.push(`stale temporary files ${tally(r.removed.stale)}`);
  process.stdout.write(`${cacheDir}: ${parts.length ? `${verb} ${parts.join(', ')}` : `nothing to remove`}; kept ${tally(r.kept)}\n`);
}
