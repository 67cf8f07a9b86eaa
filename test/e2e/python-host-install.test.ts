// End to end with the machine's own python3, no image: distributions installed for it (six,
// PyYAML with its C extension, Flask) are repacked into wheels, installed by shale into a root,
// and that python3 imports them and runs a console script from there; so does a local library;
// and shale reads the core metadata of every installed distribution as importlib.metadata does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCoreMetadata } from '../../src/python/core-metadata.js';
import { installWheel } from '../../src/python/install.js';
import { pythonLayout } from '../../src/python/layout.js';
import { installLocalLib } from '../../src/python/local-lib.js';
import { cleanup, materialize, repackInstalled, tempDir } from '../unit/python/helpers.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

describe('installWheel with real distributions (the machine python3 runs the result)', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  const install = async (dist: string): Promise<string> => {
    const { path, filename } = repackInstalled(dist, dir);
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    const d = await installWheel({ path, filename, sha256, pure: filename.endsWith('-none-any.whl') }, layout);
    const root = join(dir, 'root');
    await materialize(d.entries, root);
    return root;
  };
  const python = (root: string, code: string): string =>
    execFileSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(root, SITE), PYTHONDONTWRITEBYTECODE: '1' } }).trim();

  it('six imports from the install and importlib.metadata lists it', async () => {
    const root = await install('six');
    const out = python(
      root,
      'import six, importlib.metadata as m; print(six.__version__, six.__file__, m.version("six"), m.distribution("six").read_text("INSTALLER").strip())',
    );
    const [version, file, metaVersion, installer] = out.split(' ');
    assert.match(version ?? '', /^1\.\d+\.\d+$/);
    assert.equal(file, join(root, SITE, 'six.py'));
    assert.equal(metaVersion, version);
    assert.equal(installer, 'shale');
  });

  it('PyYAML (platlib, C extension) imports with libyaml', async () => {
    const root = await install('pyyaml');
    const out = python(root, 'import yaml; print(yaml.__file__.startswith(%r), yaml.__with_libyaml__)'.replace('%r', JSON.stringify(join(root, SITE))));
    assert.equal(out, 'True True');
  });

  it("flask's console script launcher runs", async () => {
    const root = await install('flask');
    const script = join(root, 'usr/local/bin/flask');
    const out = execFileSync('python3', [script, '--version'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(root, SITE) } });
    assert.match(out, /Flask \d+\.\d+/);
  });
});

describe('installLocalLib: the machine python3 runs the result', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  it('src layout: the package imports, importlib.metadata knows its version, its script runs', async () => {
    const lib = join(dir, 'libs/ledger-core');
    const files: Record<string, string> = {
      'pyproject.toml': '[project]\nname = "ledger-core"\nversion = "0.3.1"\n[project.scripts]\nledger = "ledger_core.cli:main"\n',
      'src/ledger_core/__init__.py': 'from .money import add\n',
      'src/ledger_core/money.py': 'def add(a, b):\n    return a + b\n',
      'src/ledger_core/cli.py': 'def main():\n    print("ledger ok")\n',
    };
    for (const [p, data] of Object.entries(files)) {
      await mkdir(dirname(join(lib, p)), { recursive: true });
      await writeFile(join(lib, p), data);
    }
    const d = await installLocalLib(lib, layout);
    const root = join(dir, 'root1');
    await materialize(d.entries, root);
    const env = { ...process.env, PYTHONPATH: join(root, SITE), PYTHONDONTWRITEBYTECODE: '1' };
    const out = execFileSync('python3', ['-c', 'import ledger_core, importlib.metadata as m; print(ledger_core.add(2, 3), m.version("ledger-core"))'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(out.trim(), '5 0.3.1');
    assert.equal(execFileSync('python3', [join(root, 'usr/local/bin/ledger')], { encoding: 'utf8', env }).trim(), 'ledger ok');
  });
});

describe('parseCoreMetadata against the machine python3', () => {
  it('agrees with importlib.metadata on every distribution installed for the host python3', () => {
    const py = [
      'import json, importlib.metadata as md',
      'out = []',
      'for d in md.distributions():',
      '    t = d.read_text("METADATA") or d.read_text("PKG-INFO")',
      '    if not t: continue',
      '    m = d.metadata',
      '    out.append({"text": t, "name": m["Name"], "version": m["Version"], "requires": m.get_all("Requires-Dist") or [], "extras": m.get_all("Provides-Extra") or [], "rp": m["Requires-Python"]})',
      'print(json.dumps(out[:400]))',
    ].join('\n');
    const dists = JSON.parse(execFileSync('python3', ['-c', py], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 })) as {
      text: string;
      name: string;
      version: string;
      requires: string[];
      extras: string[];
      rp: string | null;
    }[];
    assert.ok(dists.length > 0, 'the host python3 has installed distributions');
    const ws = (s: string): string => s.replace(/\s+/g, ' ').trim();
    for (const d of dists) {
      const md = parseCoreMetadata(d.text, d.name);
      assert.equal(md.name, d.name.trim());
      assert.equal(md.version, d.version.trim());
      assert.deepEqual(md.requiresDist, d.requires.map(ws).filter(Boolean), d.name);
      assert.deepEqual(md.providesExtra, d.extras.map(ws).filter(Boolean), d.name);
      assert.equal(md.requiresPython, d.rp && ws(d.rp) ? ws(d.rp) : undefined, d.name);
    }
  });
});
