import type { Events } from '../events.js';

/**
 * Why a cache file's text cannot be used: it is empty, cut short or garbage. A crash or a full
 * disk leaves such files (older versions of shale wrote some in place), so they are expected
 * damage, not bugs: readers treat the file as missing and rewrite it.
 */
export function damageOf(text: string, err: unknown): string {
  if (text.trim() === '') return 'it is empty';
  if (err instanceof SyntaxError) return `it is not valid JSON: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Says once per file that a damaged cache file is being ignored. One instance lives as long as
 * one run's Cache (store/cache.ts), so each build says it once per file; without an events
 * sink (a test, a tool) nothing is said.
 */
export class DamageReport {
  private readonly said = new Set<string>();

  constructor(private readonly events?: Events) {}

  /** Warns that `path` (a `what`) is damaged and is treated as missing, once per path. */
  damaged(path: string, what: string, problem: string): void {
    if (this.said.has(path)) return;
    this.said.add(path);
    this.events?.({
      type: 'log',
      level: 'warn',
      message: `ignoring the damaged ${what} ${path} (${problem}); it is treated as missing and written anew. A crash or a full disk can leave such a file; nothing needs doing.`,
    });
  }
}
