import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/errors.js';
import { manifestReference, parseReference, referenceString, registryApiHost, repoString, type Reference } from '../../../src/ref/reference.js';

const D: `sha256:${string}` = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalizes like Docker', () => {
  const table: [string, Reference][] = [
    ['python:3.11-slim', { registry: 'docker.io', repository: 'library/python', tag: '3.11-slim' }],
    ['python', { registry: 'docker.io', repository: 'library/python', tag: 'latest' }],
    ['foo/bar', { registry: 'docker.io', repository: 'foo/bar', tag: 'latest' }],
    ['docker.io/python:3', { registry: 'docker.io', repository: 'library/python', tag: '3' }],
    ['index.docker.io/library/python:3', { registry: 'docker.io', repository: 'library/python', tag: '3' }],
    ['ghcr.io/o/app:v1', { registry: 'ghcr.io', repository: 'o/app', tag: 'v1' }],
    ['127.0.0.1:5000/demo/app', { registry: '127.0.0.1:5000', repository: 'demo/app', tag: 'latest' }],
    ['localhost/app:1', { registry: 'localhost', repository: 'app', tag: '1' }],
    ['localhost:5000/a/b/c:x_y.z-1', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'x_y.z-1' }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }],
    ['Registry.Example/app', { registry: 'Registry.Example', repository: 'app', tag: 'latest' }],
    [`python@${D}`, { registry: 'docker.io', repository: 'library/python', digest: D }],
    [`python:3.12-slim@${D}`, { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim', digest: D }],
    ['my.reg/a__b/c-d/e.f:1', { registry: 'my.reg', repository: 'a__b/c-d/e.f', tag: '1' }],
  ];
  for (const [input, want] of table) {
    it(input, () => assert.deepEqual(parseReference(input), want));
  }
});

describe('parseReference rejects invalid references with the reason', () => {
  const table: [string, RegExp][] = [
    ['', /empty/],
    ['Python:3.11', /lowercase \("Python"\)/],
    ['foo/Bar', /lowercase \("Bar"\)/],
    ['python:', /tag ""/],
    ['python:-x', /tag "-x" must start/],
    [`python:${'a'.repeat(129)}`, /at most 128/],
    ['python@sha256:abc', /digest "sha256:abc" must be/],
    [`python@md5:${'a'.repeat(32)}`, /must be "sha256:"/],
    ['https://ghcr.io/o/app', /leave out the scheme/],
    ['ghcr.io/', /repository name is missing/],
    ['ghcr.io//app', /empty path component/],
    ['foo/-bar', /path component "-bar"/],
    ['foo/bar_', /path component "bar_"/],
    ['my_reg.io:x/app', /registry host "my_reg.io:x"|port/],
    [`a/${'b'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, why] of table) {
    it(JSON.stringify(input), () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.equal(err.code, 'SHALE_BAD_REFERENCE');
          assert.equal(err.exitCode, 2);
          assert.match(err.message, why);
          assert.ok(err.message.includes(`"${input.trim()}"`), 'names the reference');
          return true;
        },
      );
    });
  }
});

describe('reference strings', () => {
  it('round-trips the normalized form', () => {
    const r = parseReference(`python:3.12@${D}`);
    assert.equal(referenceString(r), `docker.io/library/python:3.12@${D}`);
    assert.equal(repoString(r), 'docker.io/library/python');
    assert.deepEqual(parseReference(referenceString(r)), r);
  });
  it('asks the registry for the digest when there is one', () => {
    assert.equal(manifestReference(parseReference(`python:3.12@${D}`)), D);
    assert.equal(manifestReference(parseReference('python:3.12')), '3.12');
  });
  it("maps docker.io to Docker Hub's API host only", () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
  });
});
