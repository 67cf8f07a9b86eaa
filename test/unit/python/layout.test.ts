import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectPythonLayout, pythonLayout } from '../../../src/python/layout.js';

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

describe('detectPythonLayout', () => {
  it('PYTHON_VERSION in the base Env means an official image', () => {
    const d = detectPythonLayout(['PATH=/usr/local/bin:/usr/bin', 'PYTHON_VERSION=3.11.9']);
    assert.equal(d.kind, 'official');
    assert.equal(d.python, '3.11');
  });
  it('otherwise Debian with the configured version', () => {
    const d = detectPythonLayout(['PATH=/usr/bin'], '3.11');
    assert.equal(d.kind, 'debian');
    assert.equal(d.layout.purelib, '/usr/local/lib/python3.11/dist-packages');
  });
  it('no version anywhere: an input error naming the python key', () => {
    assert.throws(() => detectPythonLayout([]), { code: 'SHALE_PYTHON_UNKNOWN', message: /python = "3\.11".*\[tool\.shale\]/ });
  });
  it('a configured version that disagrees with the image is an error', () => {
    assert.throws(() => detectPythonLayout(['PYTHON_VERSION=3.12.1'], '3.11'), { code: 'SHALE_PYTHON_MISMATCH' });
  });
});
