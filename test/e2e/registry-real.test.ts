import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { ShaleError } from '../../src/errors.js';
import { pushArtifact } from '../../src/publish/registry.js';
import { parseReference } from '../../src/ref/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { authEntry, indexArtifact, readAll } from '../unit/registry/fixture.js';
import { startRegistry } from './support/registry.js';

// One real CNCF distribution registry with TLS (self-signed) and htpasswd Basic auth: proves the
// client speaks to the real thing, over the insecure-TLS path, with credentials from config.json.
it('pushes to and pulls from a real docker-registry (TLS, htpasswd)', async () => {
  const reg = await startRegistry({ tls: true, htpasswd: { user: 'shale', password: 'pa55word' } });
  const { host, dir } = reg;
  const clients: RegistryClient[] = [];
  try {
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    await writeFile(good, JSON.stringify({ auths: { [host]: authEntry('shale', 'pa55word') } }));
    await writeFile(bad, JSON.stringify({ auths: { [host]: authEntry('shale', 'not-it') } }));
    const client = new RegistryClient({ insecureRegistries: [host], dockerConfigPath: good, retry: { baseDelayMs: 50 } });
    const refused = new RegistryClient({ insecureRegistries: [host], dockerConfigPath: bad });
    const verifying = new RegistryClient({ dockerConfigPath: good });
    clients.push(client, refused, verifying);

    assert.deepEqual(await client.ping(host), { scheme: 'basic', realm: 'shale-e2e' });

    // A base layer already in library/python is mounted, not uploaded.
    const baseBytes = Buffer.from('a base layer');
    const base = indexArtifact([{ name: 'base', bytes: baseBytes }], [], []);
    await pushArtifact(client, parseReference(`${host}/library/python:3.11-slim`), base);
    const artifact = indexArtifact(
      [
        { name: 'base', bytes: baseBytes, origin: { registry: host, repository: 'library/python' } },
        { name: 'app', bytes: Buffer.from('app') },
      ],
      [{ name: 'amd', bytes: Buffer.from('amd64 only') }],
      [{ name: 'arm', bytes: Buffer.from('arm64 only') }],
    );
    const statuses: string[] = [];
    const result = await pushArtifact(client, parseReference(`${host}/demo/app:v1`), artifact, (e) => {
      if (e.type === 'upload' && e.name === 'base') statuses.push(e.status);
    });
    assert.deepEqual(statuses, ['mounted']);
    assert.equal(result.pushedBlobs, 5, 'app, amd, arm and two configs');

    const top = await client.getManifest(host, 'demo/app', 'v1');
    assert.equal(top.digest, result.digest);
    assert.equal(top.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(await client.headManifest(host, 'demo/app', 'v1'), { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length });
    if (artifact.kind !== 'index') throw new Error('fixture');
    const child0 = artifact.index.images[0];
    assert.ok(child0);
    const l0 = child0.layers[1];
    assert.ok(l0);
    assert.deepEqual(await readAll(await client.getBlob(host, 'demo/app', l0.descriptor.digest)), Buffer.from('app'));
    assert.deepEqual(await client.getBlobBytes(host, 'demo/app', child0.manifest.config.digest), child0.configBytes);
    await assert.rejects(client.getManifest(host, 'demo/app', 'v2'), (e: unknown) => e instanceof ShaleError && e.code === 'SHALE_MANIFEST_UNKNOWN');

    await assert.rejects(
      refused.getManifest(host, 'demo/app', 'v1'),
      (e: unknown) => e instanceof ShaleError && /refused the credentials for user 'shale'/.test(e.message) && !e.message.includes('not-it'),
    );
    // Without --insecure-registry, a loopback registry is reached over plain HTTP, which this one refuses.
    await assert.rejects(verifying.ping(host), (e: unknown) => e instanceof ShaleError && e.message.includes('--insecure-registry'));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await reg.stop();
  }
});

// A certificate whose CA is trusted (given with --registry-ca) but that names another host is
// not an "untrusted certificate": the message says which names it is for, and what to do.
it('says a registry certificate is for other names when the CA is trusted but the name is not in it', async () => {
  const reg = await startRegistry({ tls: true, certNames: ['registry.example', 'mirror.example'] });
  const { host } = reg;
  const clients: RegistryClient[] = [];
  try {
    const withCa = new RegistryClient({ caFiles: [reg.caFile!], env: {}, retry: { baseDelayMs: 1 } });
    const withoutCa = new RegistryClient({ env: {}, retry: { baseDelayMs: 1 } });
    clients.push(withCa, withoutCa);

    const err: unknown = await withCa.ping(host).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ShaleError, String(err));
    assert.equal(err.exitCode, 1);
    assert.match(
      err.message,
      /^cannot reach registry 127\.0\.0\.1:\d+: the certificate of 127\.0\.0\.1 is for other names \(registry\.example, mirror\.example\)/,
    );
    assert.match(err.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(err.message, /by a name its certificate lists, or have the certificate reissued with 127\.0\.0\.1 in its subjectAltName/);
    assert.doesNotMatch(err.message, /not trusted|--registry-ca/);

    // Without the CA it is what it was: not trusted, give the CA.
    await assert.rejects(withoutCa.ping(host), (e: unknown) => e instanceof ShaleError && /not trusted/.test(e.message) && /--registry-ca/.test(e.message));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await reg.stop();
  }
});
