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
 * one build's store objects, so each build says it once per file; without an events sink it
 * keeps the warnings until one is given ({@link DamageReport.attach}).
 */
export class DamageReport {
  private readonly said = new Set<string>();
  private readonly waiting: string[] = [];

  constructor(private events?: Events) {}

  /** Sends warnings to `events` from now on, and those that found no sink so far. */
  attach(events: Events): void {
    this.events = events;
    for (const message of this.waiting.splice(0)) events({ type: 'log', level: 'warn', message });
  }

  /** Warns that `path` (a `what`) is damaged and is treated as missing, once per path. */
  damaged(path: string, what: string, problem: string): void {
    if (this.said.has(path)) return;
    this.said.add(path);
    const message = `ignoring the damaged ${what} ${path} (${problem}); it is treated as missing and written anew. A crash or a full disk can leave such a file; nothing needs doing.`;
    if (this.events) this.events({ type: 'log', level: 'warn', message });
    else this.waiting.push(message);
  }
}
