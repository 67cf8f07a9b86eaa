// MultiPublisher: several publishers as one, in order, reports added up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noEvents, type Events } from '../../../src/events.js';
import { layerLabel } from '../../../src/oci/annotations.js';
import type { Artifact, Layer } from '../../../src/oci/image.js';
import { MultiPublisher } from '../../../src/publish/multi.js';
import type { PublishReport, PublishSession, Publisher } from '../../../src/publish/publisher.js';
import { parseReference, type Reference } from '../../../src/ref/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { makeLayer, tinyImage } from './fixtures.js';

/** A publisher that logs its calls into a shared list and answers with `report`, or fails. */
function fake(name: string, log: string[], report: PublishReport | Error, previous?: Reference): Publisher {
  return {
    target: name,
    ...(previous ? { previous: [previous] } : {}),
    start: (_s: PublishSession) => void log.push(`${name} start`),
    layer: (l: Layer) => void log.push(`${name} layer ${layerLabel(l.descriptor)}`),
    publish: (_a: Artifact, _e: Events) => {
      log.push(`${name} publish`);
      return report instanceof Error ? Promise.reject(report) : Promise.resolve(report);
    },
  };
}

describe('MultiPublisher', () => {
  const session = (): PublishSession => ({ client: new RegistryClient(), events: noEvents, current: () => undefined });

  it('starts and tells every publisher, publishes in order, and adds the reports up', async () => {
    const log: string[] = [];
    const ref = parseReference('registry.example/demo/app:v1');
    const multi = new MultiPublisher([
      fake('registry', log, { outputs: ['registry.example/demo/app:v1'], pushed: { bytes: 100, blobs: 2 }, reference: 'registry.example/demo/app:v1' }, ref),
      { target: 'layout', publish: () => (log.push('layout publish'), Promise.resolve({ outputs: ['layout'], pushed: { bytes: 0, blobs: 0 } })) },
      fake('mirror', log, { outputs: ['mirror.example/demo/app:v1'], pushed: { bytes: 5, blobs: 1 }, reference: 'mirror.example/demo/app:v1' }),
    ]);
    assert.equal(multi.target, 'registry, layout, mirror');
    assert.deepEqual(multi.previous, [ref]);
    const s = session();
    try {
      multi.start(s);
    } finally {
      await s.client.close();
    }
    multi.layer(await makeLayer('app', { 'app/main.py': 'x' }));
    const report = await multi.publish(await tinyImage(), noEvents);
    assert.deepEqual(log, ['registry start', 'mirror start', 'registry layer app', 'mirror layer app', 'registry publish', 'layout publish', 'mirror publish']);
    assert.deepEqual(report, {
      outputs: ['registry.example/demo/app:v1', 'layout', 'mirror.example/demo/app:v1'],
      pushed: { bytes: 105, blobs: 3 },
      reference: 'registry.example/demo/app:v1',
    });
  });

  it('stops at the first failure: the publishers after it are not asked', async () => {
    const log: string[] = [];
    const multi = new MultiPublisher([
      fake('first', log, new Error('disk full')),
      fake('second', log, { outputs: ['second'], pushed: { bytes: 0, blobs: 0 } }),
    ]);
    await assert.rejects(multi.publish(await tinyImage(), noEvents), /disk full/);
    assert.deepEqual(log, ['first publish']);
  });

  it('of no publishers publishes nowhere', async () => {
    assert.deepEqual(await new MultiPublisher([]).publish(await tinyImage(), noEvents), { outputs: [], pushed: { bytes: 0, blobs: 0 } });
  });
});
