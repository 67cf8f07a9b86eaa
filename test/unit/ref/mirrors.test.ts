import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/errors.js';
import { mergeMirrors, mirrorsFor, mirrorsFromEnv, mirrorsFromRecord, parseMirrors } from '../../../src/ref/mirrors.js';

describe('registry mirrors', () => {
  it('parses SHALE_REGISTRY_MIRRORS and puts mirrors before the registry', () => {
    const m = parseMirrors('docker.io=127.0.0.1:5000, ghcr.io=mirror.local');
    assert.deepEqual(mirrorsFor(m, 'docker.io'), ['127.0.0.1:5000', 'docker.io']);
    assert.deepEqual(mirrorsFor(m, 'ghcr.io'), ['mirror.local', 'ghcr.io']);
    assert.deepEqual(mirrorsFor(m, 'quay.io'), ['quay.io']);
  });
  it('accepts several mirrors per registry, URLs and Docker Hub aliases', () => {
    const m = parseMirrors('index.docker.io=https://a.example/,docker.io=b.example:8443');
    assert.deepEqual(mirrorsFor(m, 'docker.io'), ['a.example', 'b.example:8443', 'docker.io']);
  });
  it('reads the environment and a config record, environment first', () => {
    const env = mirrorsFromEnv({ SHALE_REGISTRY_MIRRORS: 'docker.io=127.0.0.1:5000' });
    const cfg = mirrorsFromRecord({ 'docker.io': ['mirror.local', '127.0.0.1:5000'], 'ghcr.io': 'g.local' }, '~/.config/shale/config.toml');
    const m = mergeMirrors(env, cfg);
    assert.deepEqual(mirrorsFor(m, 'docker.io'), ['127.0.0.1:5000', 'mirror.local', 'docker.io']);
    assert.deepEqual(mirrorsFor(m, 'ghcr.io'), ['g.local', 'ghcr.io']);
    assert.equal(mirrorsFromEnv({}).size, 0);
  });
  it('rejects malformed entries naming the variable and the entry', () => {
    for (const bad of ['docker.io', '=x', 'docker.io=', 'docker.io=a b', 'docker.io=a/b']) {
      assert.throws(
        () => parseMirrors(bad),
        (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.equal(err.code, 'SHALE_BAD_MIRRORS');
          assert.match(err.message, /SHALE_REGISTRY_MIRRORS: mirror entry ".*" should be REGISTRY=HOST/);
          return true;
        },
      );
    }
  });
});
