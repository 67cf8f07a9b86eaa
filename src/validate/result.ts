import type { ImageConfig, Platform } from '../oci/types.js';
import type { LayerEntry } from './layer-entries.js';

/** One check's verdict, printed by `shale validate` as `PASS name: reason` or `FAIL name: reason`. */
export interface CheckResult {
  name: string;
  ok: boolean;
  reason: string;
  /** Every problem found (the reason quotes the first few). */
  problems: string[];
}

/** A layer of a built image with its entries read. */
export interface LayerView {
  name: string;
  digest: string;
  /** Made by shale (has `dev.shale.layer.name`), as opposed to a base layer. */
  shale: boolean;
  entries: readonly LayerEntry[];
}

/** One platform's image as the checks see it. */
export interface ImageView {
  platform: Platform;
  config: ImageConfig;
  layers: readonly LayerView[];
}

/** What `validate` returns. */
export interface ValidateReport {
  /** The image (or index) digest of the first build. */
  digest: string;
  checks: CheckResult[];
  ok: boolean;
}

/** Builds a result: passes when `problems` is empty; the reason lists the first few problems. */
export function verdict(name: string, problems: readonly string[], passReason: string): CheckResult {
  if (problems.length === 0) return { name, ok: true, reason: passReason, problems: [] };
  const shown = problems.slice(0, 5).join('; ');
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  return { name, ok: false, reason: `${shown}${more}`, problems: [...problems] };
}
