// The --debug line that announces a retry says what failed once, not twice.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import type { ShaleEvent } from '../../../src/events.js';
import { sha256 } from '../../../src/oci/digest.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { DEFAULT_RETRY, RetryBudget, retryLine } from '../../../src/registry/retry.js';
import { FakeClock } from './fake-clock.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { testClient } from './fixture.js';

it('a retried push names the action once in its debug line', async () => {
  const reg = await FakeRegistry.start();
  const debug: string[] = [];
  const { client, cleanup } = await testClient({
    options: { events: (e: ShaleEvent) => void (e.type === 'log' && e.level === 'debug' && debug.push(e.message)) },
  });
  try {
    const bytes = Buffer.from('a layer');
    const d = sha256(bytes);
    reg.fail('POST', /\/blobs\/uploads\/$/, 503, 1);
    reg.fail('GET', /\/manifests\//, 503, 1);
    await client.uploadBlob(reg.host, 'demo/app', d, bytes.length, async () => Readable.from([bytes]));
    await client.getManifest(reg.host, 'demo/app', 'v1').catch(() => undefined);
    const retries = debug.filter((m) => m.includes('retrying in'));
    assert.equal(retries.length, 2, debug.join('\n'));
    for (const line of retries) {
      const action = /^(pushing blob \S+ to \S+|getting manifest \S+)/.exec(line)?.[1];
      assert.ok(action, line);
      assert.equal(line.split(action).length - 1, 1, `the action appears once: ${line}`);
      assert.match(line, /registry answered 503 .*; retrying in [\d.]+ s \(failure 1 since the last progress; retry budget 60 s\)$/);
    }
  } finally {
    await cleanup();
    await reg.close();
  }
});

it('retryLine adds the action only to errors that do not start with it', () => {
  const reg = new RegistryError('pushing blob x to r/a', 500, []);
  const budget = new RetryBudget(DEFAULT_RETRY, new FakeClock());
  budget.next(reg);
  assert.equal(
    retryLine('pushing blob x to r/a', reg, 1500, budget),
    'pushing blob x to r/a: registry answered 500; retrying in 1.5 s (failure 1 since the last progress; retry budget 60 s)',
  );
  budget.next(reg);
  assert.equal(
    retryLine('contacting registry r', new Error('connection reset'), 12_400, budget),
    'contacting registry r: connection reset; retrying in 12 s (failure 2 since the last progress; retry budget 60 s)',
  );
});
