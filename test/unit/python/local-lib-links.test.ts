// Local libraries: symlinks are stored as symlinks (in RECORD without a hash) when they point
// inside the library, never followed; out of it, dangling, or a name that is not UTF-8 is an
// error naming the file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pythonLayout } from '../../../src/python/layout.js';
import { installLocalLib } from '../../../src/python/local-lib.js';
import { cleanup, entryText, tempDir } from './helpers.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

async function lib(root: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [p, data] of Object.entries({ 'pyproject.toml': `[project]\nname = "${name}"\nversion = "1.0"\n`, ...files })) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), data);
  }
  return dir;
}

describe('installLocalLib with symlinks and odd names', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  it('a symlink inside the package is a symlink in the layer and a RECORD row without hash', async () => {
    const d = await lib(dir, 'linked', { 'linked/__init__.py': '', 'linked/impl_v2.py': 'X = 2\n', 'linked/data/a.txt': 'a' });
    await symlink('impl_v2.py', join(d, 'linked', 'impl.py'));
    await symlink('data', join(d, 'linked', 'assets'));
    const dist = await installLocalLib(d, layout);
    const links = dist.entries.flatMap((e) => (e.type === 'symlink' ? [`${e.path}->${e.target}`] : []));
    assert.deepEqual(links.sort(), [`${SITE}/linked/assets->data`, `${SITE}/linked/impl.py->impl_v2.py`]);
    const record = await entryText(dist.entries, `${SITE}/linked-1.0.dist-info/RECORD`);
    assert.match(record, /^linked\/impl\.py,,$/m);
    assert.match(record, /^linked\/impl_v2\.py,sha256=[\w-]{43},6$/m);
    assert.ok(!dist.files.includes(`${SITE}/linked/assets/a.txt`), 'the linked directory is not copied a second time');
  });

  it('a symlink out of the library is refused, naming it; the host file is not read', async () => {
    const host = await mkdtemp(join(tmpdir(), 'shale-host-'));
    await writeFile(join(host, 'shadow'), 'root:secret');
    const d = await lib(dir, 'leaky', { 'leaky/__init__.py': '' });
    await symlink(join(host, 'shadow'), join(d, 'leaky', 'conf.py'));
    await assert.rejects(installLocalLib(d, layout), {
      code: 'SHALE_PATH_OUTSIDE',
      message: new RegExp(`leaky/conf\\.py \\(in local library ${d}\\) is a symlink to ".*shadow", which resolves to .*shadow, outside`),
    });
    const e = await installLocalLib(d, layout).catch((x: unknown) => x as Error);
    assert.doesNotMatch(String(e), /root:secret/);
  });

  it('a dangling symlink, a loop and a name that is not UTF-8 are errors naming the file', async () => {
    const d1 = await lib(dir, 'dangles', { 'dangles/__init__.py': '' });
    await symlink('gone.py', join(d1, 'dangles', 'lost.py'));
    await assert.rejects(installLocalLib(d1, layout), {
      code: 'SHALE_SYMLINK_DANGLING',
      message: /dangles\/lost\.py \(in local library .*\) is a symlink to "gone\.py", which does not exist/,
    });
    const d2 = await lib(dir, 'loops', { 'loops/__init__.py': '' });
    await symlink('b.py', join(d2, 'loops', 'a.py'));
    await symlink('a.py', join(d2, 'loops', 'b.py'));
    await assert.rejects(installLocalLib(d2, layout), { code: 'SHALE_SYMLINK_LOOP' });
    const d3 = await lib(dir, 'latin', { 'latin/__init__.py': '' });
    await writeFile(Buffer.concat([Buffer.from(join(d3, 'latin', 'caf')), Buffer.from([0xe9]), Buffer.from('.py')]), '');
    await assert.rejects(installLocalLib(d3, layout), {
      code: 'SHALE_NAME_NOT_UTF8',
      message: /latin\/caf\\xe9\.py \(in local library .*\) has a name that is not valid UTF-8/,
    });
  });

  it("hidden files, caches and a flat package's project files stay out as before", async () => {
    const d = await lib(dir, 'flat', {
      '__init__.py': '',
      'util.py': '',
      '.secret': '',
      '__pycache__/x.pyc': '',
      'tests/test_x.py': '',
      'sub/tests/keep.py': '',
    });
    const dist = await installLocalLib(d, layout);
    assert.deepEqual(
      dist.files.filter((f) => !f.includes('dist-info')),
      [`${SITE}/flat/__init__.py`, `${SITE}/flat/sub/tests/keep.py`, `${SITE}/flat/util.py`],
    );
  });
});
