import { Readable } from 'node:stream';
import type { Events } from '../events.js';
import { networkError, type HttpResponse } from './http.js';
import { isTemporary } from './retry.js';

/** How a blob download recovers from a connection that drops mid-body. */
export interface ResumeOptions {
  /** The registry, for messages. */
  host: string;
  /** Resumes allowed in all. */
  tries: number;
  events: Events;
  what: string;
}

/**
 * The bytes of a blob response, continuing past a connection that drops mid-body: `reopen(offset)`
 * asks again with `Range: bytes=offset-`; a 206 continues there, a 200 (Range ignored) restarts and
 * the bytes already passed on are skipped. Non-temporary errors end the stream.
 */
export function resumableBlob(first: HttpResponse, reopen: (offset: number) => Promise<HttpResponse>, opts: ResumeOptions): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let res = first;
    let passed = 0;
    let skip = 0;
    for (let resumes = 0; ; ) {
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
        if (!isTemporary(err) || ++resumes >= opts.tries) throw err;
        opts.events({ type: 'log', level: 'debug', message: `${opts.what}: ${err.message}; resuming at byte ${passed}` });
        res = await reopen(passed);
        skip = res.statusCode === 206 ? 0 : passed;
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
