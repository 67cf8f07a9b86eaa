import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/errors.js';
import { withQuery } from '../../../src/registry/client.js';
import { endpointCandidates, hostName, isLoopbackHost, mayCarryCredentials } from '../../../src/http/client.js';
import { trustContext } from '../../../src/http/tls.js';

describe('endpoints', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost', 'localhost:5000', '[::1]:5000', '[::1]']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['10.0.0.1:5000', 'ghcr.io', '128.0.0.1', 'localhost.example.com', '[::2]:5000']) assert.ok(!isLoopbackHost(h), h);
    assert.equal(hostName('[::1]:5000'), '::1');
    assert.equal(hostName('reg.local:443'), 'reg.local');
  });
  it('uses plain HTTP then verified HTTPS for loopback, verified HTTPS elsewhere, unverified HTTPS then HTTP for insecure hosts', () => {
    const insecure = new Set(['reg.lan:5000']);
    assert.deepEqual(endpointCandidates('127.0.0.1:5000', insecure), [
      { origin: 'http://127.0.0.1:5000', verifyTls: true },
      { origin: 'https://127.0.0.1:5000', verifyTls: true },
    ]);
    assert.deepEqual(endpointCandidates('ghcr.io', insecure), [{ origin: 'https://ghcr.io', verifyTls: true }]);
    assert.deepEqual(endpointCandidates('reg.lan:5000', insecure), [
      { origin: 'https://reg.lan:5000', verifyTls: false },
      { origin: 'http://reg.lan:5000', verifyTls: true },
    ]);
  });
  it('never sends credentials over plain HTTP to a remote host', () => {
    const none = new Set<string>();
    assert.ok(mayCarryCredentials(new URL('https://auth.docker.io/token'), none));
    assert.ok(mayCarryCredentials(new URL('http://127.0.0.1:5000/token'), none));
    assert.ok(!mayCarryCredentials(new URL('http://auth.example/token'), none));
    assert.ok(mayCarryCredentials(new URL('http://auth.example/token'), new Set(['auth.example'])));
  });
  it('adds ?digest= to relative and absolute upload Locations, keeping their query', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    assert.equal(withQuery('/v2/a/blobs/uploads/u1', 'digest', d), `/v2/a/blobs/uploads/u1?digest=sha256%3A${'b'.repeat(64)}`);
    assert.equal(
      withQuery('https://r.io/v2/a/blobs/uploads/u1?_state=x%3D', 'digest', d),
      `https://r.io/v2/a/blobs/uploads/u1?_state=x%3D&digest=sha256%3A${'b'.repeat(64)}`,
    );
  });
});

describe('trust', () => {
  it('refuses a --registry-ca or SSL_CERT_FILE that is missing or holds no PEM certificate, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shale-tls-'));
    try {
      const notPem = join(dir, 'ca.txt');
      await writeFile(notPem, 'hello');
      assert.throws(
        () => trustContext({ caFiles: [join(dir, 'missing.pem')], env: {} }),
        (err: unknown) =>
          err instanceof InputError && err.code === 'SHALE_BAD_CA_FILE' && err.message.startsWith(`--registry-ca ${join(dir, 'missing.pem')}: cannot read`),
      );
      assert.throws(() => trustContext({ env: { SSL_CERT_FILE: notPem } }), /SSL_CERT_FILE .*no PEM certificate/);
      assert.ok(trustContext({ env: {} }), "Node's roots and the system bundle alone are fine");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
