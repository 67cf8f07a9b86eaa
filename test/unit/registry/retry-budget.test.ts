// The retry policy is time, not a count of tries: an operation keeps trying for its budget from
// its first failure since it last made progress, backing off 0.5–1 s doubling to 5–10 s, and
// honours Retry-After when it fits in what is left. All on a fake clock: nothing here waits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError } from '../../../src/registry/errors.js';
import { NetworkError } from '../../../src/http/client.js';
import { DEFAULT_RETRY, RetryBudget, backoffDelay, budgetFromEnv } from '../../../src/registry/retry.js';
import { FakeClock } from './fake-clock.js';

const unavailable = (): RegistryError => new RegistryError('pushing blob sha256:ab to r/a', 503, [{ code: 'UNAVAILABLE', message: 'down' }]);

/** Fails on `budget` until it gives up, sleeping each wait on `clock`; returns the waits. */
async function failUntilGivenUp(budget: RetryBudget, clock: FakeClock, err: () => unknown = unavailable): Promise<number[]> {
  const waits: number[] = [];
  for (;;) {
    const d = budget.next(err());
    if (d === undefined) return waits;
    waits.push(d);
    await clock.sleep(d);
  }
}

describe('retry budget', () => {
  it('is 60 s by default, with waits from 0.5–1 s doubling to a 5–10 s cap', () => {
    assert.deepEqual(DEFAULT_RETRY, { budgetMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 10_000 });
    const top = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, DEFAULT_RETRY, () => 1));
    const bottom = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, DEFAULT_RETRY, () => 0));
    assert.deepEqual(top, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    assert.deepEqual(bottom, [500, 1000, 2000, 4000, 5000, 5000, 5000], 'jitter takes up to half off');
  });

  it('keeps trying for the whole budget, never waiting past it, then gives up', async () => {
    for (const r of [0, 0.5, 1]) {
      const clock = new FakeClock();
      const budget = new RetryBudget(DEFAULT_RETRY, clock, () => r);
      const waits = await failUntilGivenUp(budget, clock);
      const total = waits.reduce((a, b) => a + b, 0);
      assert.ok(total <= 60_000 && total >= 59_000, `waited ${total} ms (random ${r})`);
      assert.ok(waits.length >= 7 && waits.length <= 16, `${waits.length + 1} tries`);
      assert.ok(Math.max(...waits) <= 10_000);
    }
  });

  it('a 30 s outage fits in the default budget; patience comes back whole after progress', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(DEFAULT_RETRY, clock, () => 1);
    const start = clock.now();
    // Down for 30 s: fail until then.
    while (clock.now() - start < 30_000) {
      const d = budget.next(unavailable());
      assert.ok(d !== undefined, 'still within the budget');
      await clock.sleep(d);
    }
    budget.progress();
    // A second outage right after, 55 s long: allowed, since the first one's time no longer counts.
    const again = clock.now();
    while (clock.now() - again < 55_000) {
      const d = budget.next(unavailable());
      assert.ok(d !== undefined, 'progress gave the whole budget back');
      await clock.sleep(d);
    }
    assert.equal(
      backoffDelay(1, DEFAULT_RETRY, () => 1),
      1000,
    );
  });

  it('a request answered without progress restarts the backoff, not the deadline', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(DEFAULT_RETRY, clock, () => 1);
    assert.equal(budget.next(unavailable()), 1000);
    assert.equal(budget.next(unavailable()), 2000);
    budget.answered();
    assert.equal(budget.next(unavailable()), 1000, 'short again: the registry answers');
    // Answered between every failure, it still gives up once the budget is spent.
    const waits: number[] = [];
    budget.answered();
    for (let d = budget.next(unavailable()); d !== undefined; d = budget.next(unavailable())) {
      waits.push(d);
      await clock.sleep(d);
      budget.answered();
    }
    assert.ok(waits.every((w) => w <= 1000) && waits.length >= 55, `${waits.length} short waits, then the deadline`);
  });

  it('honours Retry-After within the budget, longer than the backoff cap too; gives up at once when it asks for more than is left', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(DEFAULT_RETRY, clock);
    const slow = new RegistryError('x', 429, []);
    slow.retryAfterMs = 25_000;
    assert.equal(budget.next(slow), 25_000);
    await clock.sleep(25_000);
    assert.equal(budget.next(slow), 25_000);
    await clock.sleep(25_000);
    // 10 s left (and a little less: time passes), 25 s asked.
    assert.equal(budget.next(slow), undefined);
    const err = new RegistryError('getting manifest r/a:v1', 429, [{ code: 'TOOMANYREQUESTS', message: 'slow down' }]);
    budget.markGaveUp(err, 'run the same command again once the registry answers');
    assert.match(
      err.message,
      /^getting manifest r\/a:v1: registry answered 429 \(TOOMANYREQUESTS: slow down\); the registry asked to wait 25 s \(Retry-After\), more than the 1\d s left of the retry budget; gave up after 3 tries in 50 s \(retry budget 60 s, SHALE_RETRY_BUDGET\); run the same command again once the registry answers$/,
    );
    const now = new RegistryError('x', 429, []);
    now.retryAfterMs = 0;
    assert.equal(new RetryBudget(DEFAULT_RETRY, clock).next(now), 100, 'a Retry-After of 0 still waits a moment');
  });

  it('says how long it tried and what to do, once', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ ...DEFAULT_RETRY, budgetMs: 5_000 }, clock, () => 1);
    const err = new NetworkError('network error talking to registry r: ECONNRESET (socket hang up)', 'ECONNRESET', true, undefined);
    await failUntilGivenUp(budget, clock, () => err);
    budget.markGaveUp(err, 'run the same command again: blobs already pushed are kept');
    budget.markGaveUp(err, 'said twice');
    assert.equal(
      err.message,
      'network error talking to registry r: ECONNRESET (socket hang up); gave up after 4 tries in 5 s (retry budget 5 s, SHALE_RETRY_BUDGET); run the same command again: blobs already pushed are kept',
    );
  });

  it('caps attempts when `tries` says so; tries: 1 never retries and leaves the message alone', () => {
    const clock = new FakeClock();
    const three = new RetryBudget({ ...DEFAULT_RETRY, tries: 3 }, clock);
    assert.ok(three.next(unavailable()) !== undefined);
    assert.ok(three.next(unavailable()) !== undefined);
    assert.equal(three.next(unavailable()), undefined);
    const once = new RetryBudget({ ...DEFAULT_RETRY, tries: 1 }, clock);
    const err = unavailable();
    assert.equal(once.next(err), undefined);
    once.markGaveUp(err, 'hint');
    assert.equal(err.message, 'pushing blob sha256:ab to r/a: registry answered 503 (UNAVAILABLE: down)');
  });

  it('reads SHALE_RETRY_BUDGET in seconds; 0 means one try; junk means the default', () => {
    assert.equal(budgetFromEnv({ SHALE_RETRY_BUDGET: '300' }), 300_000);
    assert.equal(budgetFromEnv({ SHALE_RETRY_BUDGET: '2.5' }), 2_500);
    assert.equal(budgetFromEnv({ SHALE_RETRY_BUDGET: '0' }), 0);
    assert.equal(budgetFromEnv({ SHALE_RETRY_BUDGET: 'a minute' }), undefined);
    assert.equal(budgetFromEnv({}), undefined);
    const zero = new RetryBudget({ ...DEFAULT_RETRY, budgetMs: 0 }, new FakeClock());
    assert.equal(zero.next(unavailable()), undefined);
  });
});
