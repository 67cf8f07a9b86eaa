/**
 * Retrying with patience measured in time, shared by registry calls and package downloads: a
 * budget per operation (`SHALE_RETRY_BUDGET`), capped backoff with jitter, `Retry-After`, and a
 * clock that unit tests replace.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError } from './errors.js';

/**
 * How patiently to retry temporary failures (network errors, timeouts, 408, 429, 5xx). Patience
 * is time, not a count of tries: a registry restarting or failing over is down for seconds to a
 * minute whatever a client does, and a count of quick tries (3 × 0.25 s doubling was ~0.75 s)
 * gives up long before it is back. go-containerregistry waits 1 s then 3 s; docker push makes 5
 * attempts 5 to 20 s apart.
 */
export interface RetryPolicy {
  /**
   * How long one operation keeps trying, counted from its first failure since it last made
   * progress (a chunk of an upload accepted, bytes of a download received): each progress gives
   * it the whole budget again. Default `$SHALE_RETRY_BUDGET` seconds, else 60 s.
   */
  budgetMs: number;
  /** The first wait; each later one doubles, up to `maxDelayMs`, then jitter takes up to half off. */
  baseDelayMs: number;
  /** The cap on a computed wait (not on what `Retry-After` asks: that is bounded by the budget). */
  maxDelayMs: number;
  /** Attempts at most since the last progress, the first included (1: never retry); default no limit but the budget. */
  tries?: number;
}

/** The default: 60 s of patience, waits from 0.5–1 s doubling up to 5–10 s. */
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 10_000 };

/** The smallest wait for a `Retry-After` of 0, so a registry that keeps saying "now" is not hammered. */
const MIN_RETRY_AFTER_MS = 100;

/** Time as the retry loops see it: real by default, a fake in unit tests so they never wait. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with InterruptedError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  async sleep(ms, signal) {
    try {
      await sleep(ms, undefined, signal ? { signal } : {});
    } catch {
      throw new InterruptedError();
    }
  },
};

/**
 * The computed wait before the `failures + 1`-th try since the last progress: capped exponential
 * backoff with half jitter (a random half of the wait taken off), so many clients that failed
 * together do not come back in lockstep.
 */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (0.5 + random() / 2));
}

/**
 * The patience of one operation. `next(err)` after each temporary failure says how long to wait
 * before trying again (what `Retry-After` asked, else backoff, never past the deadline), or that
 * the budget is spent; `progress()` gives the operation its whole budget back; `answered()` (a
 * request succeeded, nothing moved) restarts the backoff but keeps the deadline.
 */
export class RetryBudget {
  private firstFailure: number | undefined;
  private failures = 0;
  /** Failures since the registry last answered anything: what the backoff doubles on. */
  private streak = 0;
  /** Why the budget ran out, for the message ("the registry asked to wait 120 s, ..."). */
  private exhausted = '';

  constructor(
    readonly policy: RetryPolicy,
    readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
    /** Who is retried, for messages: "registry", "package index". */
    private readonly peer = 'registry',
  ) {}

  /** The operation moved forward: the next failure starts a fresh budget and backoff. */
  progress(): void {
    this.firstFailure = undefined;
    this.failures = 0;
    this.streak = 0;
  }

  /**
   * A request succeeded without moving the operation forward (an upload's status, a new
   * session): the registry is answering, so the next wait starts short again. The deadline
   * stays, so a registry that answers those but refuses every chunk still ends the operation.
   */
  answered(): void {
    this.streak = 0;
  }

  /** Failures since the last progress. */
  get failuresSinceProgress(): number {
    return this.failures;
  }

  /**
   * Records a temporary failure and returns the wait before the next try, or undefined when the
   * operation should give up: the budget is spent, `tries` is reached, or the registry asked
   * (`Retry-After`) for a wait longer than what is left of the budget.
   */
  next(err: unknown): number | undefined {
    const now = this.clock.now();
    this.firstFailure ??= now;
    this.failures++;
    this.streak++;
    if (this.failures >= (this.policy.tries ?? Infinity)) return undefined;
    const left = this.firstFailure + this.policy.budgetMs - now;
    if (left <= 0) return undefined;
    const asked = retryAfterOf(err);
    if (asked !== undefined) {
      // RFC 9110 §10.2.3: Retry-After is how long the client ought to wait; honoured whole, or not at all.
      if (asked > left) {
        this.exhausted = `the ${this.peer} asked to wait ${seconds(asked)} s (Retry-After), more than the ${seconds(left)} s left of the retry budget`;
        return undefined;
      }
      return Math.max(MIN_RETRY_AFTER_MS, asked);
    }
    return Math.min(left, backoffDelay(this.streak, this.policy, this.random));
  }

  /** Waits `ms` on the budget's clock; Ctrl-C (the signal) ends the wait with InterruptedError. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.clock.sleep(ms, signal);
  }

  /**
   * Says in the error's message how long the operation tried and what to do next, so the last
   * error reads as final: `…; gave up after 12 tries in 61 s (retry budget 60 s,
   * SHALE_RETRY_BUDGET); run the same command again: blobs already pushed are kept`. Tries and
   * time count since the operation last made progress.
   */
  markGaveUp(err: unknown, hint: string): void {
    if (!(err instanceof Error) || err.message.includes('gave up after') || this.failures < 1) return;
    // A caller that asked for no retries (tries: 1) gets the registry's answer as it is.
    if (this.policy.tries === 1) return;
    const why = this.exhausted ? `${this.exhausted}; ` : '';
    const spent = this.clock.now() - (this.firstFailure ?? this.clock.now());
    const tries = `${this.failures} ${this.failures === 1 ? 'try' : 'tries'}`;
    err.message = `${err.message}; ${why}gave up after ${tries} in ${seconds(spent)} s (retry budget ${seconds(this.policy.budgetMs)} s, SHALE_RETRY_BUDGET); ${hint}`;
  }
}

/** Seconds, rounded for messages: `0.5`, `12`, `61`. */
function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? String(Math.round(s * 10) / 10) : String(Math.round(s));
}

/**
 * The retry budget from the environment: `SHALE_RETRY_BUDGET` seconds (a positive number), else
 * the default. Read where the client is made, like `SHALE_REGISTRY_TIMEOUT`.
 */
export function budgetFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const s = Number(env['SHALE_RETRY_BUDGET']);
  return env['SHALE_RETRY_BUDGET'] !== undefined && Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
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

/**
 * The debug line that announces a retry. Registry errors already begin with the action that
 * failed ("pushing blob …: registry answered 503"), so the action is said once, not twice.
 */
export function retryLine(action: string, err: unknown, delayMs: number, budget: RetryBudget): string {
  const msg = err instanceof Error ? err.message : String(err);
  const what = msg.startsWith(action) ? msg : `${action}: ${msg}`;
  return `${what}; retrying in ${seconds(delayMs)} s (failure ${budget.failuresSinceProgress} since the last progress; retry budget ${seconds(budget.policy.budgetMs)} s)`;
}

/** What a failure asked to wait (`Retry-After`, kept as `retryAfterMs` by the errors that carry it), if anything. */
function retryAfterOf(err: unknown): number | undefined {
  const ms = err !== null && typeof err === 'object' ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof ms === 'number' ? ms : undefined;
}
