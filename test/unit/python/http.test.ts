import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { InterruptedError } from '../../../src/http/errors.js';
import { PackageHttp } from '../../../src/python/http.js';
import { Cache } from '../../../src/store/cache.js';
import { FakeClock } from '../registry/fake-clock.js';
import { cleanup, tempDir } from './helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local server; every connection is destroyed when the test file ends, stalled ones too. */
async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Sends headers and the first bytes of a wheel, then nothing more. */
const stallMidBody: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
  res.write(Buffer.alloc(1000, 1));
};

describe('package index HTTP', () => {
  it('a wheel download that stalls mid-body times out, says which host stopped, and leaves no temp file', async () => {
    const base = await serve(stallMidBody);
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const http = new PackageHttp({ timeoutMs: 300, retry: { budgetMs: 0 } });
      const started = Date.now();
      await assert.rejects(
        cache.wheels.download(`${base}/x-1.0-py3-none-any.whl`, 'x-1.0-py3-none-any.whl', () => {}, undefined, undefined, http),
        (e: Error) => {
          assert.match(
            e.message,
            /downloading x-1\.0-py3-none-any\.whl from http:\/\/127\.0\.0\.1:\d+\/x-1\.0-py3-none-any\.whl failed: package index 127\.0\.0\.1:\d+ stopped answering \(the response stalled; timed out\)/,
          );
          return true;
        },
      );
      assert.ok(Date.now() - started < 5_000, 'gave up after the timeout, not later');
      const left = await readdir(join(dir, 'wheels')).catch(() => []);
      assert.deepEqual(
        left.filter((n) => n.startsWith('.tmp-')),
        [],
      );
    } finally {
      await cleanup(dir);
    }
  });

  it('an index that never answers times out, and is retried within the budget before the build fails', async () => {
    let asked = 0;
    const base = await serve(() => {
      asked++; // never answers
    });
    const clock = new FakeClock();
    const http = new PackageHttp({ timeoutMs: 200, retry: { budgetMs: 1_000 }, clock });
    await assert.rejects(http.get(`${base}/simple/x/`, 'text/html'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_NETWORK');
      assert.match(
        e.message,
        /cannot GET http:\/\/127\.0\.0\.1:\d+\/simple\/x\/ \(package index 127\.0\.0\.1:\d+ stopped answering \(no response; timed out\); gave up after \d+ tries in [\d.]+ s \(retry budget 1 s, SHALE_RETRY_BUDGET\); check the URL/,
      );
      return true;
    });
    assert.ok(asked >= 2, `asked ${asked} times`);
  });

  it('Ctrl-C (the signal) stops a stalled download at once, as InterruptedError', async () => {
    const base = await serve(stallMidBody);
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const ctl = new AbortController();
      const http = new PackageHttp({ timeoutMs: 60_000, signal: ctl.signal });
      const started = Date.now();
      setTimeout(() => ctl.abort(), 200);
      await assert.rejects(
        cache.wheels.download(`${base}/x-1.0-py3-none-any.whl`, 'x-1.0-py3-none-any.whl', () => {}, undefined, undefined, http),
        InterruptedError,
      );
      assert.ok(Date.now() - started < 5_000);
      // A request after Ctrl-C is not sent.
      await assert.rejects(http.get(`${base}/simple/x/`, 'text/html'), InterruptedError);
    } finally {
      await cleanup(dir);
    }
  });

  it('Ctrl-C ends a retry wait, too', async () => {
    const base = await serve((_req, res) => res.writeHead(503, { 'retry-after': '30' }).end());
    const ctl = new AbortController();
    const http = new PackageHttp({ signal: ctl.signal, retry: { budgetMs: 60_000 } });
    setTimeout(() => ctl.abort(), 200);
    const started = Date.now();
    await assert.rejects(http.get(`${base}/simple/x/`, 'text/html'), InterruptedError);
    assert.ok(Date.now() - started < 5_000);
  });

  it('retries 429 and 5xx (Retry-After honoured) within the budget, reporting each retry', async () => {
    let n = 0;
    const base = await serve((_req, res) => {
      n++;
      if (n === 1) res.writeHead(429, { 'retry-after': '3' }).end();
      else if (n === 2) res.writeHead(500).end();
      else if (n === 3)
        res.destroy(); // a reset connection
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="x-1.0-py3-none-any.whl">x</a>');
    });
    const clock = new FakeClock();
    const log: ShaleEvent[] = [];
    const http = new PackageHttp({ clock, events: (e) => log.push(e) });
    const res = await http.get(`${base}/simple/x/`, 'text/html');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /x-1\.0/);
    assert.equal(n, 4);
    assert.equal(clock.waits[0], 3_000);
    assert.equal(clock.waits.length, 3);
    const lines = log.flatMap((e) => (e.type === 'log' && e.level === 'debug' ? [e.message] : []));
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /GET http:\/\/127\.0\.0\.1:\d+\/simple\/x\/: the package index answered 429; retrying in 3 s/);
  });

  it("an index that keeps failing: the last answer is the caller's once the budget is spent", async () => {
    let n = 0;
    const base = await serve((_req, res) => {
      n++;
      res.writeHead(503).end();
    });
    const clock = new FakeClock();
    const res = await new PackageHttp({ clock, retry: { budgetMs: 10_000 } }).get(`${base}/simple/x/`, 'text/html');
    assert.equal(res.status, 503);
    assert.ok(n > 2 && clock.slept <= 10_000, `${n} tries, ${clock.slept} ms`);
  });

  it('follows redirects; credentials go only to the origin they were given for', async () => {
    const seen: (string | undefined)[] = [];
    const other = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200).end('file');
    });
    const index = await serve((req, res) => {
      if (req.url === '/files/x.whl') res.writeHead(302, { location: `${other}/x.whl` }).end();
      else res.writeHead(307, { location: '/files/x.whl' }).end();
    });
    const withCreds = index.replace('http://', 'http://alice:s3cret@');
    const res = await new PackageHttp().get(`${withCreds}/start`, '*/*');
    assert.equal(res.status, 200);
    assert.equal(res.url, `${other}/x.whl`);
    assert.equal(await res.text(), 'file');
    assert.deepEqual(seen, [undefined]);
  });
});
