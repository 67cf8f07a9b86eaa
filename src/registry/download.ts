import { Readable } from 'node:stream';
import type { Events } from '../events.js';
import { networkError, type HttpResponse } from '../http/client.js';
import { RETRY_HINT, isTemporary, retryLine, type RetryBudget } from './retry.js';

/** How a blob download recovers from a connection that drops mid-body. */
export interface ResumeOptions {
  /** The registry, for messages. */
  host: string;
  /** The download's patience: bytes received since the last drop give it back whole. */
  budget: RetryBudget;
  events: Events;
  what: string;
  signal?: AbortSignal;
}

/**
 * The bytes of a blob response, continuing past a connection that drops mid-body: `reopen(offset)`
 * asks again with `Range: bytes=offset-`; a 206 continues there, a 200 (Range ignored) restarts and
 * the bytes already passed on are skipped. Drops are weighed against the budget (bytes received
 * since the last one count as progress); non-temporary errors end the stream.
 */
export function resumableBlob(first: HttpResponse, reopen: (offset: number) => Promise<HttpResponse>, opts: ResumeOptions): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let res = first;
    let passed = 0;
    let skip = 0;
    for (;;) {
      const before = passed;
      try {
        for await (const chunk of res.body) {
          let b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
          if (skip > 0) {
            const cut = Math.min(skip, b.length);
            skip -= cut;
            b = b.subarray(cut);
            if (b.length === 0) continue;
          }
          passed += b.length;
          yield b;
        }
        return;
      } catch (raw) {
        const err = networkError(opts.host, raw);
        if (!isTemporary(err)) throw err;
        if (passed > before) opts.budget.progress();
        const delay = opts.budget.next(err);
        if (delay === undefined) {
          opts.budget.markGaveUp(err, RETRY_HINT);
          throw err;
        }
        opts.events({ type: 'log', level: 'debug', message: `${retryLine(opts.what, err, delay, opts.budget)}; resuming at byte ${passed}` });
        await opts.budget.sleep(delay, opts.signal);
        res = await reopen(passed);
        skip = res.statusCode === 206 ? 0 : passed;
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
