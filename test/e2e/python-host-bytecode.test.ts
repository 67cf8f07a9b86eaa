// End to end with the machine's own CPython 3.11, no image: compile-bytecode compiles a small
// real wheel's sources into hash-based, unchecked .pyc files at image paths, listed in RECORD,
// the same bytes every run, and the interpreter loads them; findHostPython finds and names it.
// (The image-level check is python-bytecode.test.ts; the fingerprints: test/unit/plan/layers.test.ts.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../../src/layer/entry.js';
import { bytecodeKey, compileBytecode, pycPath } from '../../src/python/bytecode.js';
import { findHostPython, type HostPython } from '../../src/python/host-python.js';
import { installWheel, type InstalledDist } from '../../src/python/install.js';
import { pythonLayout } from '../../src/python/layout.js';
import { cleanup, entryText, makeWheel, materialize, tempDir } from '../unit/python/helpers.js';

const layout = pythonLayout('debian', '3.11');
const SITE = 'usr/local/lib/python3.11/dist-packages';

async function bytes(entries: Entry[], path: string): Promise<Buffer> {
  const e = entries.find((x) => x.path === path);
  if (!e || e.type !== 'file') throw new Error(`no file entry ${path}`);
  const chunks: Buffer[] = [];
  for await (const c of await e.open()) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('compileBytecode', () => {
  let dir = '';
  let py: HostPython;
  let dist: InstalledDist;
  before(async () => {
    dir = await tempDir();
    py = await findHostPython('3.11');
    const { path, filename } = makeWheel(dir, {
      name: 'demo',
      version: '1.0',
      files: [
        { name: 'demo/__init__.py', data: '' },
        { name: 'demo/mod.py', data: 'VALUE = {"a", "b", "c", "d"}\ndef where():\n    import sys\n    return sys._getframe().f_code.co_filename\n' },
        { name: 'demo/py2_only.py', data: 'print "not python 3"\n' },
      ],
    });
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    dist = await installWheel({ path, filename, sha256, pure: true }, layout);
  });
  after(() => cleanup(dir));

  it('writes unchecked hash-based .pyc files named by the cache tag, with the image path inside', async () => {
    const { dist: out, skipped } = await compileBytecode(dist, layout, py);
    const pyc = `${SITE}/demo/__pycache__/mod.cpython-311.pyc`;
    assert.equal(pycPath(`${SITE}/demo/mod.py`, py.cacheTag), pyc);
    assert.ok(out.files.includes(pyc));
    assert.ok(out.files.includes(`${SITE}/demo/__pycache__/__init__.cpython-311.pyc`));
    const data = await bytes(out.entries, pyc);
    assert.equal(data.subarray(0, 4).toString('hex'), py.magic);
    assert.equal(data.readUInt32LE(4), 0b01, 'flags: hash-based, check_source off (unchecked)');
    assert.ok(data.includes(Buffer.from(`/${SITE}/demo/mod.py`)), 'co_filename is the image path');
    assert.ok(!data.includes(Buffer.from('shale-pyc-')), 'no temp dir path inside');
    // A file that does not compile gets no .pyc, as with pip.
    assert.deepEqual(skipped, [`/${SITE}/demo/py2_only.py`]);
    assert.ok(!out.files.some((f) => f.includes('py2_only.cpython')));
  });

  it('lists every .pyc in the regenerated RECORD with its hash and size', async () => {
    const { dist: out } = await compileBytecode(dist, layout, py);
    const record = await entryText(out.entries, `${SITE}/demo-1.0.dist-info/RECORD`);
    const data = await bytes(out.entries, `${SITE}/demo/__pycache__/mod.cpython-311.pyc`);
    const h = createHash('sha256').update(data).digest('base64url');
    assert.ok(record.includes(`demo/__pycache__/mod.cpython-311.pyc,sha256=${h},${data.length}\n`), record);
    assert.match(record, /^demo\/mod\.py,sha256=/m, 'the sources stay listed');
    assert.equal(out.entries.filter((e) => e.path.endsWith('/RECORD')).length, 1);
  });

  it('gives the same bytes on two runs', async () => {
    const a = await compileBytecode(dist, layout, py);
    const b = await compileBytecode(dist, layout, py);
    for (const f of a.dist.files.filter((x) => x.endsWith('.pyc') || x.endsWith('RECORD'))) {
      assert.ok((await bytes(a.dist.entries, f)).equals(await bytes(b.dist.entries, f)), f);
    }
  });

  it('is what the interpreter loads: unchecked, so it is used even after the source changes', async () => {
    const { dist: out } = await compileBytecode(dist, layout, py);
    const root = join(dir, 'root');
    await materialize(out.entries, root);
    await writeFile(join(root, SITE, 'demo', 'mod.py'), 'VALUE = "changed"\n');
    const code = 'import demo.mod as m; print(sorted(m.VALUE)); print(m.where()); print(m.__cached__)';
    const got = execFileSync(py.path, ['-B', '-c', code], { env: { ...process.env, PYTHONPATH: join(root, SITE) }, encoding: 'utf8' })
      .trim()
      .split('\n');
    // importlib sets co_filename to where the module was found (here the test root; in the image,
    // the image path that the .pyc already holds).
    assert.deepEqual(got, ["['a', 'b', 'c', 'd']", join(root, SITE, 'demo/mod.py'), join(root, SITE, 'demo/__pycache__/mod.cpython-311.pyc')]);
  });
});

describe('findHostPython', () => {
  it("finds this machine's python3.11 and says its cache tag and magic number", async () => {
    const py = await findHostPython('3.11');
    assert.match(py.version, /^3\.11\.\d+$/);
    assert.equal(py.cacheTag, 'cpython-311');
    assert.match(bytecodeKey(py), /^cpython-311 3\.11\.\d+ magic=[0-9a-f]{8} unchecked-hash$/);
  });

  it('names the version needed and SHALE_PYTHON when no Python of that version exists', async () => {
    await assert.rejects(findHostPython('3.99', { PATH: process.env['PATH'] ?? '' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHALE_NO_HOST_PYTHON');
      assert.match(e.message, /needs a CPython 3\.99/);
      assert.match(e.message, /SHALE_PYTHON=\/path\/to\/python3\.99/);
      return true;
    });
  });

  it('uses only $SHALE_PYTHON when it is set, and says when it is the wrong version', async () => {
    await assert.rejects(
      findHostPython('3.10', { ...process.env, SHALE_PYTHON: 'python3.11' }),
      /tried SHALE_PYTHON=python3\.11: python3\.11 \(Python 3\.11\.\d+\)/,
    );
    assert.equal((await findHostPython('3.11', { ...process.env, SHALE_PYTHON: 'python3.11' })).path, 'python3.11');
  });
});
