import { RegistryError } from './errors.js';
import { NetworkError } from './http.js';

/** How often and how patiently to retry temporary failures (network errors, 408, 429, 5xx). */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  tries: number;
  /** The first delay; each later one doubles, up to `maxDelayMs`, then jitter takes up to half off. */
  baseDelayMs: number;
  /** The cap on a computed delay, and on what a `Retry-After` may make shale wait. */
  maxDelayMs: number;
}

/** The default: 3 tries, 250 ms doubling, capped at 30 s. */
export const DEFAULT_RETRY: RetryPolicy = { tries: 3, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Whether an error is worth retrying: a temporary network error, or a 408/429/5xx without a final error code. */
export const isTemporary = (err: unknown): boolean =>
  (err instanceof RegistryError || err instanceof NetworkError) && err.temporary;

/**
 * The wait before attempt `attempt + 1`: what the registry asked for (`Retry-After`) when it said,
 * else capped exponential backoff with jitter so many clients do not retry in lockstep.
 */
export function retryDelay(err: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (err instanceof RegistryError && err.retryAfterMs !== undefined) return Math.min(err.retryAfterMs, policy.maxDelayMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.5 + random() / 2));
}

/**
 * Parses `Retry-After` (RFC 9110: delay-seconds or an HTTP-date) into milliseconds from `now`;
 * undefined when absent or unreadable. A date in the past means "now".
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - now);
}

/** Says in the error's message how many tries were made, so the last error reads as final. */
export function markGaveUp(err: unknown, tries: number): void {
  if (tries > 1 && err instanceof Error && !err.message.includes('gave up after')) {
    err.message = `${err.message} (gave up after ${tries} tries)`;
  }
}

/**
 * The debug line that announces a retry. Registry errors already begin with the action that
 * failed ("pushing blob …: registry answered 503"), so the action is said once, not twice.
 */
export function retryLine(action: string, err: unknown, delayMs: number, attempt: number, tries: number): string {
  const msg = err instanceof Error ? err.message : String(err);
  const what = msg.startsWith(action) ? msg : `${action}: ${msg}`;
  return `${what}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${tries})`;
}
