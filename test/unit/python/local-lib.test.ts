import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pythonLayout } from '../../../src/python/layout.js';
import { installLocalLib } from '../../../src/python/local-lib.js';
import { cleanup, entryText, tempDir } from './helpers.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [p, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), data);
  }
}

describe('installLocalLib', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  it('src layout: the package, METADATA/INSTALLER/RECORD and scripts; caches and top-level tests left out', async () => {
    const lib = join(dir, 'libs/ledger-core');
    await tree(lib, {
      'pyproject.toml': '[project]\nname = "ledger-core"\nversion = "0.3.1"\n[project.scripts]\nledger = "ledger_core.cli:main"\n',
      'src/ledger_core/__init__.py': 'from .money import add\n',
      'src/ledger_core/money.py': 'def add(a, b):\n    return a + b\n',
      'src/ledger_core/cli.py': 'def main():\n    print("ledger ok")\n',
      'src/ledger_core/__pycache__/money.cpython-311.pyc': 'x',
      'src/ledger_core/tests/test_inner.py': '',
      'tests/test_money.py': 'assert True\n',
    });
    const d = await installLocalLib(lib, layout);
    assert.equal(d.name, 'ledger-core');
    assert.equal(d.version, '0.3.1');
    assert.deepEqual(d.files, [
      'usr/local/bin/ledger',
      `${SITE}/ledger_core-0.3.1.dist-info/INSTALLER`,
      `${SITE}/ledger_core-0.3.1.dist-info/METADATA`,
      `${SITE}/ledger_core-0.3.1.dist-info/RECORD`,
      `${SITE}/ledger_core-0.3.1.dist-info/entry_points.txt`,
      `${SITE}/ledger_core/__init__.py`,
      `${SITE}/ledger_core/cli.py`,
      `${SITE}/ledger_core/money.py`,
      `${SITE}/ledger_core/tests/test_inner.py`,
    ]);
    assert.match(await entryText(d.entries, `${SITE}/ledger_core-0.3.1.dist-info/RECORD`), /^ledger_core\/money\.py,sha256=[\w-]{43},\d+$/m);
    // That the machine's python3 imports it and runs its script: test/e2e/python-host-install.test.ts.
  });

  it('flat layout: the directory itself is the package', async () => {
    const lib = join(dir, 'libs/flatpkg');
    await tree(lib, { 'pyproject.toml': '[project]\nname = "flatpkg"\nversion = "1.0"\n', '__init__.py': 'X = 7\n', 'util.py': '', 'tests/test_x.py': '' });
    const d = await installLocalLib(lib, layout);
    assert.deepEqual(
      d.files.filter((f) => !f.includes('dist-info')),
      [`${SITE}/flatpkg/__init__.py`, `${SITE}/flatpkg/util.py`],
    );
  });

  it('root layout without pyproject: packages next to it, named by the directory', async () => {
    const lib = join(dir, 'libs/plain');
    await tree(lib, { 'plain/__init__.py': '', 'docs/conf.py': '', 'setup.py': '' });
    const d = await installLocalLib(lib, layout);
    assert.equal(d.version, '0');
    assert.deepEqual(
      d.files.filter((f) => !f.includes('dist-info')),
      [`${SITE}/plain/__init__.py`],
    );
  });

  it('a missing directory is an input error naming the path', async () => {
    await assert.rejects(installLocalLib(join(dir, 'libs/nope'), layout), { code: 'SHALE_LIB_MISSING', message: /libs\/nope/ });
  });
});
