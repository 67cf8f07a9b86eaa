import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import { sha256 } from '../../../src/oci/digest.js';
import { MediaType } from '../../../src/oci/types.js';
import { parseChallenge } from '../../../src/registry/challenge.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { authEntry, testClient } from './fixture.js';

describe('WWW-Authenticate parsing', () => {
  it('reads Bearer realm, service and a scope with commas', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull,push"'), {
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/python:pull,push',
    });
  });
  it('reads Basic and ignores unknown schemes', () => {
    assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', realm: 'Registry Realm' });
    assert.equal(parseChallenge('Negotiate'), undefined);
    assert.equal(parseChallenge('Bearer service="x"'), undefined);
  });
});

describe('bearer token auth', () => {
  it('pulls anonymously with a token scoped to the repository, cached per scope', async () => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: {}, anonymousPull: true });
    const { client, cleanup } = await testClient();
    try {
      const bytes = Buffer.from('{"m":1}');
      reg.putManifest('library/python', bytes, MediaType.OciManifest, '3.11');
      await client.getManifest(reg.host, 'library/python', '3.11');
      await client.getManifest(reg.host, 'library/python', '3.11');
      assert.deepEqual(reg.tokenRequests, [{ method: 'GET', scopes: ['repository:library/python:pull'], user: undefined }]);
      assert.match(reg.requests('GET', /manifests/)[0]?.authorization ?? '', /^Bearer /);
    } finally {
      await cleanup();
      await reg.close();
    }
  });

  it('asks again for another scope set, and once a token has expired (issued_at + expires_in)', async () => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: {}, anonymousPull: true });
    const { client, cleanup } = await testClient();
    try {
      reg.putManifest('a/one', Buffer.from('{"a":1}'), MediaType.OciManifest, 'v1');
      reg.putManifest('a/two', Buffer.from('{"a":2}'), MediaType.OciManifest, 'v1');
      await client.getManifest(reg.host, 'a/one', 'v1');
      await client.getManifest(reg.host, 'a/two', 'v1');
      await client.getManifest(reg.host, 'a/one', 'v1');
      assert.deepEqual(
        reg.tokenRequests.map((t) => t.scopes.join(' ')),
        ['repository:a/one:pull', 'repository:a/two:pull'],
        'one token per scope set, reused',
      );
      // A token issued 9 s ago for 10 s is past its use-by margin: each use fetches a fresh one.
      reg.tokenTtl = { expiresIn: 10, issuedAgoMs: 9_000 };
      reg.putManifest('a/three', Buffer.from('{"a":3}'), MediaType.OciManifest, 'v1');
      await client.getManifest(reg.host, 'a/three', 'v1');
      await client.getManifest(reg.host, 'a/three', 'v1');
      assert.equal(reg.tokenRequests.filter((t) => t.scopes[0] === 'repository:a/three:pull').length, 2);
    } finally {
      await cleanup();
      await reg.close();
    }
  });

  it('pushes with credentials from config.json: pull,push scope, and the mount source pull scope', async () => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: { alice: 's3cret' } });
    const { client, cleanup } = await testClient({ auths: {} });
    const { client: alice, cleanup: cleanup3 } = await testClient({ auths: { [reg.host]: authEntry('alice', 's3cret') } });
    try {
      const base = reg.putBlob('library/python', Buffer.from('base'));
      assert.deepEqual(await alice.mountBlob(reg.host, 'demo/app', base as `sha256:${string}`, 'library/python'), { mounted: true });
      const bytes = Buffer.from('app layer');
      await alice.uploadBlob(reg.host, 'demo/app', sha256(bytes), bytes.length, async () => Readable.from([bytes]));
      const scopes = reg.tokenRequests.map((t) => [t.user, t.scopes.join(' ')]);
      assert.deepEqual(scopes, [
        ['alice', 'repository:demo/app:pull,push repository:library/python:pull'],
        ['alice', 'repository:demo/app:pull,push'],
      ]);
      // Without credentials the push is refused with advice to log in.
      await assert.rejects(
        client.uploadBlob(reg.host, 'demo/app', sha256(bytes), bytes.length, async () => Readable.from([bytes])),
        (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_REGISTRY_UNAUTHORIZED' && err.message.includes(`docker login ${reg.host}`),
      );
    } finally {
      await cleanup();
      await cleanup3();
      await reg.close();
    }
  });

  it('explains refused credentials without revealing the password', async () => {
    const reg = await FakeRegistry.start({ kind: 'bearer', users: { alice: 'right' } });
    const { client, cleanup } = await testClient({ auths: { [reg.host]: authEntry('alice', 'wrong-pass-123') } });
    try {
      await assert.rejects(client.getManifest(reg.host, 'demo/app', 'v1'), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.equal(err.code, 'SHALE_REGISTRY_UNAUTHORIZED');
        assert.equal(err.exitCode, 1);
        assert.match(
          err.message,
          new RegExp(
            `^registry ${reg.host} refused the credentials for user 'alice' \\(from .*config\\.json, auths\\["${reg.host}"\\]\\); run \`docker login ${reg.host}\` or fix the entry$`,
          ),
        );
        assert.ok(!err.message.includes('wrong-pass-123'));
        assert.ok(!err.message.includes(authEntry('alice', 'wrong-pass-123')['auth'] ?? '?'));
        return true;
      });
    } finally {
      await cleanup();
      await reg.close();
    }
  });
});

describe('basic auth', () => {
  it('sends Basic credentials from $DOCKER_CONFIG/config.json (username/password or auth)', async () => {
    const reg = await FakeRegistry.start({ kind: 'basic', users: { bob: 'pw' } });
    const prev = process.env['DOCKER_CONFIG'];
    const { client: viaPath, dir, cleanup } = await testClient({ auths: { [`https://${reg.host}`]: { username: 'bob', password: 'pw' } } });
    await viaPath.close();
    try {
      process.env['DOCKER_CONFIG'] = dir;
      const { RegistryClient } = await import('../../../src/registry/client.js');
      const client = new RegistryClient({ retry: { baseDelayMs: 1 } });
      const bytes = Buffer.from('{"basic":1}');
      reg.putManifest('demo/app', bytes, MediaType.OciManifest, 'v1');
      assert.equal((await client.getManifest(reg.host, 'demo/app', 'v1')).digest, sha256(bytes));
      assert.equal(reg.requests('GET', /manifests/)[0]?.authorization, `Basic ${Buffer.from('bob:pw').toString('base64')}`);
      await client.close();
    } finally {
      if (prev === undefined) delete process.env['DOCKER_CONFIG'];
      else process.env['DOCKER_CONFIG'] = prev;
      await cleanup();
      await reg.close();
    }
  });

  it('explains refused Basic credentials without the password, and a missing login', async () => {
    const reg = await FakeRegistry.start({ kind: 'basic', users: { bob: 'pw' } });
    const bad = await testClient({ auths: { [reg.host]: authEntry('bob', 'hunter2') } });
    const none = await testClient();
    try {
      await assert.rejects(bad.client.hasBlob(reg.host, 'demo/app', sha256('x')), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.match(err.message, new RegExp(`registry ${reg.host} refused the credentials for user 'bob'`));
        assert.ok(!err.message.includes('hunter2'));
        return true;
      });
      await assert.rejects(none.client.hasBlob(reg.host, 'demo/app', sha256('x')), /requires a login .*docker login/);
    } finally {
      await bad.cleanup();
      await none.cleanup();
      await reg.close();
    }
  });

  it('reports a config.json that is not JSON as bad input', async () => {
    const reg = await FakeRegistry.start({ kind: 'basic', users: {} });
    const t = await testClient();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${t.dir}/config.json`, '{ not json');
    try {
      await assert.rejects(
        t.client.hasBlob(reg.host, 'a', sha256('x')),
        (err: unknown) => err instanceof ShaleError && err.code === 'SHALE_BAD_DOCKER_CONFIG' && err.exitCode === 2,
      );
    } finally {
      await t.cleanup();
      await reg.close();
    }
  });
});
