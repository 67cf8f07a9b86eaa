import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pythonLayout } from '../../../src/python/layout.js';

describe('pythonLayout', () => {
  it('official python:* images install under /usr/local site-packages', () => {
    assert.deepEqual(pythonLayout('official', '3.12'), {
      purelib: '/usr/local/lib/python3.12/site-packages',
      platlib: '/usr/local/lib/python3.12/site-packages',
      scripts: '/usr/local/bin',
      data: '/usr/local',
      headers: '/usr/local/include/python3.12',
      interpreter: '/usr/local/bin/python3',
    });
  });
  it("Debian's python3 reads /usr/local/lib/pythonX.Y/dist-packages and runs /usr/bin/python3", () => {
    const l = pythonLayout('debian', '3.11.2');
    assert.equal(l.purelib, '/usr/local/lib/python3.11/dist-packages');
    assert.equal(l.interpreter, '/usr/bin/python3');
  });
});
