import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeProject } from '../../support/project.js';
import { join } from 'node:path';
import { registryMirrors, userConfigPath } from '../../../src/config/user-config.js';

test('registry-mirrors in the user config file, after SHALE_REGISTRY_MIRRORS', async () => {
  const dir = await writeProject({
    'shale/config.toml': 'registry-mirrors = { "docker.io" = ["mirror.local:5000", "127.0.0.1:5001"], "ghcr.io" = "gh.mirror" }\n',
  });
  const env = { XDG_CONFIG_HOME: dir, SHALE_REGISTRY_MIRRORS: 'docker.io=127.0.0.1:5000' };
  assert.equal(userConfigPath(env), join(dir, 'shale', 'config.toml'));
  const m = registryMirrors(env);
  assert.deepEqual(m.get('docker.io'), ['127.0.0.1:5000', 'mirror.local:5000', '127.0.0.1:5001']);
  assert.deepEqual(m.get('ghcr.io'), ['gh.mirror']);
  assert.equal(registryMirrors({ XDG_CONFIG_HOME: join(dir, 'none') }).size, 0);
});

test('a malformed user config names the file and the key', async () => {
  const dir = await writeProject({ 'config.toml': 'registry-mirrors = ["docker.io"]\n' });
  assert.throws(() => registryMirrors({ SHALE_CONFIG: join(dir, 'config.toml') }), /config\.toml: `registry-mirrors` must map a registry/);
  const bad = await writeProject({ 'config.toml': 'registry-mirrors = {\n' });
  assert.throws(() => registryMirrors({ SHALE_CONFIG: join(bad, 'config.toml') }), /config\.toml:\d+:\d+: invalid TOML/);
});
