// ca-certs: the host's CA bundle as a layer of its own, below the packages, named `ca-certs`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BuildSpec } from '../../../src/config/spec.js';
import { testSpec } from '../../support/spec.js';
import { bufferEntry } from '../../../src/layer/entry.js';
import { planLayers, type PackageInput } from '../../../src/plan/layers.js';
import { CA_BUNDLE_PATH, hostCaBundle } from '../../../src/python/ca-certs.js';
import { pythonLayout } from '../../../src/python/layout.js';
import { cleanup, entryText, tempDir } from './helpers.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const spec: BuildSpec = testSpec({ caCerts: true });
const six: PackageInput = {
  name: 'six',
  version: '1.0',
  wheel: 'six-1.0-py3-none-any.whl',
  sha256: 'b'.repeat(64),
  pure: true,
  size: 10,
  entries: async () => [],
};

describe('ca-certs', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  it('is the host bundle at /etc/ssl/certs/ca-certificates.crt in the image', async () => {
    const file = join(dir, 'bundle.crt');
    await writeFile(file, PEM);
    const entries = await hostCaBundle('/p/shale.toml', file);
    assert.equal(CA_BUNDLE_PATH, '/etc/ssl/certs/ca-certificates.crt');
    assert.deepEqual(
      entries.map((e) => e.path),
      ['etc/ssl/certs/ca-certificates.crt'],
    );
    assert.equal(await entryText(entries, 'etc/ssl/certs/ca-certificates.crt'), PEM);
  });

  it('is an explicit error when the host has no bundle, or one without certificates', async () => {
    await assert.rejects(hostCaBundle('/p/shale.toml', join(dir, 'missing.crt')), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_NO_CA_BUNDLE');
      assert.match(
        e.message,
        /shale\.toml: ca-certs = true copies this machine's CA bundle .*missing\.crt into the image, but it does not exist; install the CA certificates/,
      );
      return true;
    });
    const empty = join(dir, 'empty.crt');
    await writeFile(empty, '');
    await assert.rejects(hostCaBundle('/p/shale.toml', empty), /holds no PEM certificate/);
  });

  it('plans a `ca-certs` layer first, fingerprinted by the bundle content', async () => {
    const plan = (pem: string) =>
      planLayers({
        spec,
        layout: pythonLayout('debian', '3.11'),
        packages: [six],
        libs: [],
        app: [bufferEntry('app/main.py', '')],
        epoch: 0,
        caCerts: [bufferEntry('etc/ssl/certs/ca-certificates.crt', pem)],
      });
    const a = await plan(PEM);
    assert.deepEqual(
      a.map((l) => l.name),
      ['ca-certs', 'deps-pure-' + a[1]!.name.split('-').pop(), 'app'],
    );
    assert.equal(a[0]!.kind, 'ca-certs');
    assert.equal(a[0]!.createdBy, 'shale: ca-certs: /etc/ssl/certs/ca-certificates.crt from the build host');
    assert.deepEqual(
      (await a[0]!.entries()).map((e) => e.path),
      ['etc/ssl/certs/ca-certificates.crt'],
    );
    assert.equal((await plan(PEM))[0]!.fingerprint, a[0]!.fingerprint);
    assert.notEqual((await plan(`${PEM}${PEM}`))[0]!.fingerprint, a[0]!.fingerprint);
  });
});

describe('config keys compile-bytecode and ca-certs', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  it('are read from [tool.shale]; ca-certs sets SSL_CERT_FILE unless env does', async () => {
    const { loadBuildSpec } = await import('../../../src/config/load.js');
    const write = (extra: string) => writeFile(join(dir, 'shale.toml'), `name = "x"\nbase = "python:3.11-slim"\n${extra}`);
    await write('compile-bytecode = true\nca-certs = true\n');
    const s = await loadBuildSpec(dir);
    assert.equal(s.compileBytecode, true);
    assert.equal(s.caCerts, true);
    assert.deepEqual(s.env, { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' });
    await write('ca-certs = true\nenv = { SSL_CERT_FILE = "/certs/corp.pem", PORT = "8000" }\n');
    assert.deepEqual((await loadBuildSpec(dir)).env, { SSL_CERT_FILE: '/certs/corp.pem', PORT: '8000' });
    await write('');
    const plain = await loadBuildSpec(dir);
    assert.equal(plain.compileBytecode, undefined);
    assert.equal(plain.caCerts, undefined);
    assert.deepEqual(plain.env, {});
    await write('compile-bytecode = "yes"\n');
    await assert.rejects(loadBuildSpec(dir), /compile-bytecode/);
  });
});
