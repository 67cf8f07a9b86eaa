import { InterruptedError } from '../../../src/registry/errors.js';
import type { Clock } from '../../../src/registry/retry.js';

/**
 * A clock whose sleeps return at once and move its time forward instead, so retry tests run in
 * milliseconds whatever the budget. `now()` is real time plus everything slept, so the time
 * requests really take counts too. `waits` records every sleep.
 */
export class FakeClock implements Clock {
  readonly waits: number[] = [];
  private skipped = 0;

  now(): number {
    return Date.now() + this.skipped;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new InterruptedError();
    this.waits.push(ms);
    this.skipped += ms;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Milliseconds slept in all. */
  get slept(): number {
    return this.waits.reduce((a, b) => a + b, 0);
  }
}
