// `no-excluded-files` judges with the build's own list and rules (src/plan/excludes.ts): every
// default exclude the build leaves out, the check flags, and nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EXCLUDES } from '../../../src/plan/excludes.js';
import { checkExcluded } from '../../../src/validate/excluded.js';
import type { LayerEntry } from '../../../src/validate/layer-entries.js';
import type { ImageView } from '../../../src/validate/result.js';

const image = (paths: string[]): ImageView => ({
  platform: { os: 'linux', architecture: 'amd64' },
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  layers: [{ name: 'app', digest: 'sha256:app', shale: true, entries: paths.map((path): LayerEntry => ({ path, type: 'file', mode: 0o644 })) }],
});

test('the new secrets fail the check, each naming its pattern', () => {
  const r = checkExcluded([
    image([
      '/app/main.py',
      '/app/.env.production',
      '/app/deploy/id_ed25519',
      '/app/.docker/config.json',
      '/app/.aws/credentials',
      '/app/tls/site.key',
      '/app/web/.npmrc',
      '/app/.git-credentials',
    ]),
  ]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, [
    '/app/.env.production is in the app layer (matches the default exclude ".env*")',
    '/app/deploy/id_ed25519 is in the app layer (matches the default exclude "id_ed25519*")',
    '/app/.docker/config.json is in the app layer (matches the default exclude ".docker/config.json")',
    '/app/.aws/credentials is in the app layer (matches the default exclude ".aws")',
    '/app/tls/site.key is in the app layer (matches the default exclude "*.key")',
    '/app/web/.npmrc is in the app layer (matches the default exclude ".npmrc")',
    '/app/.git-credentials is in the app layer (matches the default exclude ".git-credentials")',
  ]);
});

test('every default exclude is flagged at any depth; look-alikes pass', () => {
  for (const pattern of DEFAULT_EXCLUDES) {
    const name = pattern.replace(/\*/g, 'x');
    const r = checkExcluded([image([`/app/${name}`, `/srv/a/b/${name}`])]);
    assert.equal(r.problems.length, 2, `${pattern}: ${r.problems.join('; ')}`);
  }
  const fine = checkExcluded([
    image(['/app/environment.py', '/app/docs/keyboard.md', '/app/.docker/daemon.json', '/app/monkey.py', '/app/ssh/config', '/app/my.netrc.example']),
  ]);
  assert.equal(fine.ok, true, fine.problems.join('; '));
});
