import { it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCommand } from '../../../src/deploy/command.js';

it('formatCommand quotes only what a shell would not read literally', () => {
  assert.equal(
    formatCommand({ program: 'kubectl', args: ['set', 'image', 'deployment/web', `app=h:5000/r@sha256:${'a'.repeat(64)}`] }),
    `kubectl set image deployment/web app=h:5000/r@sha256:${'a'.repeat(64)}`,
  );
  assert.equal(formatCommand({ program: 'az', args: ['--resource-group', "my rg's"] }), `az --resource-group 'my rg'\\''s'`);
});
