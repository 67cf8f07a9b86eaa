// The base's Python: from PYTHON_VERSION, else the python3 its PATH finds in its layers (links
// followed, upper layers and whiteouts honoured), with the standard library beside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathDirs } from '../../../src/base/path.js';
import {
  formatPython,
  installLayout,
  parsePython,
  pythonFromEnv,
  pythonMismatch,
  PythonProbe,
  pythonUnusable,
  type PythonFinding,
} from '../../../src/base/python.js';
import { scanLayers } from '../../../src/base/scan.js';
import { DEBIAN_PYTHON, layer, LOCAL_PYTHON, type Item } from './layers.js';

/** What the probe finds in layers given bottom first, with the default PATH (or `path`). */
async function find(layers: Item[][], path = pathDirs(undefined)): Promise<PythonFinding> {
  const probe = new PythonProbe(path);
  await scanLayers(await Promise.all(layers.map((items) => layer(items))), [probe]);
  return probe.result();
}

const found = (f: PythonFinding) => ('python' in f ? { version: f.python.version, kind: f.python.kind, evidence: f.python.evidence } : assert.fail(f.problem));
const problem = (f: PythonFinding): string => ('problem' in f ? f.problem : assert.fail(`found ${formatPython(f.python)}`));

describe('the record form', () => {
  it('formats and parses "3.11 debian" / "3.12 official"', () => {
    assert.equal(formatPython({ version: '3.11', kind: 'debian' }), '3.11 debian');
    assert.deepEqual(parsePython('3.12 official'), { version: '3.12', kind: 'official' });
    assert.equal(parsePython('3.12'), undefined);
    assert.equal(parsePython('3.12 alpine'), undefined);
  });
  it('the layout is where that Python looks', () => {
    assert.equal(installLayout({ version: '3.11', kind: 'debian' }).purelib, '/usr/local/lib/python3.11/dist-packages');
    assert.equal(installLayout({ version: '3.12', kind: 'official' }).purelib, '/usr/local/lib/python3.12/site-packages');
  });
});

describe('pythonFromEnv', () => {
  it('PYTHON_VERSION means an official image, X.Y of it', () => {
    assert.deepEqual(pythonFromEnv(['PATH=/usr/local/bin:/usr/bin', 'PYTHON_VERSION=3.11.9']), {
      version: '3.11',
      kind: 'official',
      evidence: 'PYTHON_VERSION=3.11.9',
    });
    assert.equal(pythonFromEnv(['PATH=/usr/bin']), undefined);
    assert.equal(pythonFromEnv(['PYTHON_VERSION=latest']), undefined, 'not a version: read the layers instead');
  });
});

describe('pathDirs', () => {
  it("the config PATH in order, normalized, once each; the runtimes' default without one", () => {
    assert.deepEqual(pathDirs(['PATH=/opt/venv/bin/:/usr/local/bin:relative:/usr/local/bin:/usr/bin']), ['/opt/venv/bin', '/usr/local/bin', '/usr/bin']);
    assert.deepEqual(pathDirs(null), ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  });
});

describe('PythonProbe', () => {
  it("Debian's python3: /usr/bin/python3 → python3.11, its stdlib and dist-packages", async () => {
    assert.deepEqual(found(await find([[...DEBIAN_PYTHON]])), { version: '3.11', kind: 'debian', evidence: '/usr/bin/python3 → /usr/bin/python3.11' });
  });
  it('a CPython in /usr/local (the official layout) without PYTHON_VERSION', async () => {
    assert.deepEqual(found(await find([LOCAL_PYTHON(12)])), {
      version: '3.12',
      kind: 'official',
      evidence: '/usr/local/bin/python3 → /usr/local/bin/python3.12',
    });
  });
  it('PATH order decides: /usr/local/bin/python3 from any layer comes before /usr/bin/python3', async () => {
    // Python in /usr/local in the lower layer, Debian's on top: PATH still finds /usr/local first.
    assert.equal(found(await find([LOCAL_PYTHON(12), [...DEBIAN_PYTHON]])).version, '3.12');
    assert.equal(found(await find([LOCAL_PYTHON(12), [...DEBIAN_PYTHON]], ['/usr/bin', '/usr/local/bin'])).version, '3.11');
  });
  it('a symlink into the other bin dir is that interpreter (the official-like e2e base without its Env)', async () => {
    const f = found(await find([[...DEBIAN_PYTHON], [{ name: 'usr/local/bin/python3', linkname: '/usr/bin/python3.11' }]]));
    assert.deepEqual(f, { version: '3.11', kind: 'debian', evidence: '/usr/local/bin/python3 → /usr/bin/python3.11' });
  });
  it('an upper layer that whites out /usr/local/bin/python3 leaves the lower /usr/bin one', async () => {
    const f = found(
      await find([
        [...LOCAL_PYTHON(12), ...DEBIAN_PYTHON],
        [{ name: 'usr/local/bin/.wh.python3' }, { name: 'usr/local/bin/.wh.python3.12' }],
      ]),
    );
    assert.equal(f.version, '3.11');
    const opaque = found(
      await find([
        [...LOCAL_PYTHON(12), ...DEBIAN_PYTHON],
        [{ name: 'usr/local/bin/' }, { name: 'usr/local/bin/.wh..wh..opq' }],
      ]),
    );
    assert.equal(opaque.version, '3.11');
  });
  it('hard links: python3 and python3.11 one file, either way round', async () => {
    const a = [
      { name: 'usr/bin/python3.11', data: 'x' },
      { name: 'usr/bin/python3', hardlink: 'usr/bin/python3.11' },
      { name: 'usr/lib/python3.11/os.py' },
      { name: 'usr/lib/python3/dist-packages/' },
    ];
    assert.equal(found(await find([a])).version, '3.11');
    const b = [
      { name: 'usr/bin/python3', data: 'x' },
      { name: 'usr/bin/python3.11', hardlink: 'usr/bin/python3' },
      { name: 'usr/lib/python3.11/os.py' },
      { name: 'usr/lib/python3/dist-packages/' },
    ];
    assert.equal(found(await find([b])).version, '3.11');
  });
  it('a lone python3.X without python3 will do', async () => {
    assert.equal(found(await find([[{ name: 'usr/local/bin/python3.13', data: 'x' }, { name: 'usr/local/lib/python3.13/' }]])).version, '3.13');
  });
  it('no Python at all is "none"', async () => {
    const f = await find([[{ name: 'bin/busybox', data: 'x' }]]);
    assert.ok('none' in f && f.none);
    assert.match(problem(f), /no python3 on its PATH/);
  });
  it('refuses what it cannot install for, saying why', async () => {
    assert.match(
      problem(
        await find([[{ name: 'usr/bin/python3', linkname: 'python3.12' }, { name: 'usr/bin/python3.12', data: 'x' }, { name: 'usr/lib/python3.12/os.py' }]]),
      ),
      /not Debian's python3 \(no \/usr\/lib\/python3\/dist-packages\)/,
    );
    assert.match(
      problem(await find([[...DEBIAN_PYTHON, { name: 'opt/venv/bin/python3', linkname: '/usr/bin/python3' }]], ['/opt/venv/bin', '/usr/bin'])),
      /PATH finds first is \/opt\/venv\/bin\/python3/,
    );
    assert.match(
      problem(
        await find([
          [{ name: 'usr/bin/python3', linkname: 'python3.11' }, { name: 'usr/bin/python3.11', data: 'x' }, { name: 'usr/lib/python3/dist-packages/' }],
        ]),
      ),
      /no standard library \(\/usr\/lib\/python3\.11 is not in the image\)/,
    );
    assert.match(problem(await find([[{ name: 'usr/bin/python3', linkname: 'python3.11' }]])), /leads to \/usr\/bin\/python3\.11, which is not in the image/);
    assert.match(
      problem(await find([[{ name: 'usr/local/bin/python3', linkname: '/opt/py/bin/python3.11' }]])),
      /leads to \/opt\/py\/bin\/python3\.11, outside \/usr\/local\/bin and \/usr\/bin/,
    );
  });
});

describe('the errors', () => {
  it("a mismatch names both versions and where the base's came from", () => {
    const e = pythonMismatch(
      '3.12',
      { version: '3.11', kind: 'debian', evidence: '/usr/bin/python3 → /usr/bin/python3.11' },
      'base image docker.io/library/python:3.11-slim',
    );
    assert.equal(e.code, 'SHALE_PYTHON_MISMATCH');
    assert.match(
      e.message,
      /^python = "3\.12" in \[tool\.shale\], but base image docker\.io\/library\/python:3\.11-slim has Python 3\.11 \(\/usr\/bin\/python3 → \/usr\/bin\/python3\.11\)/,
    );
    assert.match(e.message, /Remove the key .* or set python = "3\.11"/);
  });
  it('no Python names the configured version when there is one', () => {
    const e = pythonUnusable({ none: true, problem: 'no python3 on its PATH' }, 'base image alpine', '3.12');
    assert.equal(e.code, 'SHALE_PYTHON_MISSING');
    assert.match(e.message, /^python = "3\.12" in \[tool\.shale\], but base image alpine has no Python: no python3 on its PATH; /);
    assert.equal(pythonUnusable({ none: false, problem: 'x' }, 'base image y', undefined).code, 'SHALE_PYTHON_UNSUPPORTED');
  });
});
