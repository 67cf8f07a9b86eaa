import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WheelFile } from '../../../src/python/finder.js';
import { installWheel } from '../../../src/python/install.js';
import { pythonLayout, type InstallLayout } from '../../../src/python/layout.js';
import { cleanup, entryText, makeWheel, tempDir, writeZip, type WheelSpec } from './helpers.js';

const layout = pythonLayout('official', '3.11');
const SITE = 'usr/local/lib/python3.11/site-packages';

describe('installWheel', () => {
  let dir = '';
  before(async () => {
    dir = await tempDir();
  });
  after(() => cleanup(dir));

  const wheel = async (spec: WheelSpec): Promise<WheelFile> => {
    const { path, filename } = makeWheel(dir, spec);
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    return { path, filename, sha256, pure: (spec.tag ?? 'py3-none-any') === 'py3-none-any' };
  };

  it('installs root files into purelib with INSTALLER and a regenerated RECORD', async () => {
    const w = await wheel({
      name: 'demo',
      version: '1.0',
      files: [
        { name: 'demo/__init__.py', data: 'VALUE = 42\n' },
        { name: 'demo/run.sh', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
      ],
    });
    const d = await installWheel(w, layout);
    assert.equal(d.name, 'demo');
    assert.equal(d.version, '1.0');
    assert.equal(d.pure, true);
    assert.deepEqual(d.files, [
      `${SITE}/demo-1.0.dist-info/INSTALLER`,
      `${SITE}/demo-1.0.dist-info/METADATA`,
      `${SITE}/demo-1.0.dist-info/RECORD`,
      `${SITE}/demo-1.0.dist-info/WHEEL`,
      `${SITE}/demo/__init__.py`,
      `${SITE}/demo/run.sh`,
    ]);
    assert.equal(await entryText(d.entries, `${SITE}/demo/__init__.py`), 'VALUE = 42\n');
    assert.equal(await entryText(d.entries, `${SITE}/demo-1.0.dist-info/INSTALLER`), 'shale\n');
    const mode = (p: string): number | undefined => {
      const e = d.entries.find((x) => x.path === p);
      return e?.type === 'file' ? e.mode : undefined;
    };
    assert.equal(mode(`${SITE}/demo/run.sh`), 0o755, 'exec bit from the zip kept');
    assert.equal(mode(`${SITE}/demo/__init__.py`), 0o644);
    const record = await entryText(d.entries, `${SITE}/demo-1.0.dist-info/RECORD`);
    const h = createHash('sha256').update('VALUE = 42\n').digest('base64url');
    assert.match(record, new RegExp(`^demo/__init__\\.py,sha256=${h.replace(/[-]/g, '\\-')},11$`, 'm'));
    assert.match(record, /^demo-1\.0\.dist-info\/INSTALLER,sha256=[A-Za-z0-9_-]{43},6$/m);
    assert.match(record, /^demo-1\.0\.dist-info\/RECORD,,$/m);
    assert.ok(!record.includes('='.repeat(1) + ','), 'no base64 padding');
    assert.equal(
      d.installedSize,
      d.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0),
    );
  });

  it('maps .data dirs, rewrites #!python shebangs and roots platlib wheels in platlib', async () => {
    const split: InstallLayout = { ...layout, platlib: '/usr/local/lib64/python3.11/site-packages' };
    const w = await wheel({
      name: 'tool',
      version: '2.0',
      tag: 'cp311-cp311-linux_x86_64',
      rootIsPurelib: false,
      files: [
        { name: 'tool/__init__.py', data: '' },
        { name: 'tool-2.0.data/scripts/tool-run', data: '#!python -u\nprint("run")\n', mode: 0o644 },
        { name: 'tool-2.0.data/scripts/toolw', data: '#!pythonw\nprint("w")\n' },
        { name: 'tool-2.0.data/scripts/plain.sh', data: '#!/bin/sh\n' },
        { name: 'tool-2.0.data/purelib/tool_pure.py', data: 'P = 1\n' },
        { name: 'tool-2.0.data/data/share/tool/tool.1', data: '.TH tool\n' },
        { name: 'tool-2.0.data/headers/tool.h', data: '#define TOOL 1\n' },
      ],
    });
    const d = await installWheel(w, split);
    const paths = new Set(d.files);
    for (const p of [
      'usr/local/lib64/python3.11/site-packages/tool/__init__.py',
      'usr/local/lib64/python3.11/site-packages/tool-2.0.dist-info/RECORD',
      `${SITE}/tool_pure.py`,
      'usr/local/bin/tool-run',
      'usr/local/share/tool/tool.1',
      'usr/local/include/python3.11/tool/tool.h',
    ])
      assert.ok(paths.has(p), `${p} in ${[...paths].join(', ')}`);
    assert.equal(await entryText(d.entries, 'usr/local/bin/tool-run'), '#!/usr/local/bin/python3 -u\nprint("run")\n');
    assert.equal(await entryText(d.entries, 'usr/local/bin/toolw'), '#!/usr/local/bin/python3\nprint("w")\n');
    assert.equal(await entryText(d.entries, 'usr/local/bin/plain.sh'), '#!/bin/sh\n');
    const run = d.entries.find((e) => e.path === 'usr/local/bin/tool-run');
    assert.equal(run?.type === 'file' && run.mode, 0o755, 'scripts are executable');
    const record = await entryText(d.entries, 'usr/local/lib64/python3.11/site-packages/tool-2.0.dist-info/RECORD');
    assert.match(record, /^\.\.\/\.\.\/\.\.\/bin\/tool-run,sha256=/m);
    assert.match(record, /^\.\.\/\.\.\/\.\.\/lib\/python3\.11\/site-packages\/tool_pure\.py,/m);
  });

  it('writes console and gui script launchers like pip', async () => {
    const w = await wheel({
      name: 'cli',
      version: '1.0',
      files: [{ name: 'cli/__init__.py', data: 'def main():\n    return 0\n' }],
      entryPoints: '[console_scripts]\ncli = cli:main\ncli-sub = cli.cmds:app.run [extra]\n\n[gui_scripts]\ncli-gui = cli:gui\n\n[other]\nx = y:z\n',
    });
    const debian = pythonLayout('debian', '3.11');
    const d = await installWheel(w, debian);
    assert.equal(
      await entryText(d.entries, 'usr/local/bin/cli'),
      '#!/usr/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom cli import main\nif __name__ == "__main__":\n    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])\n    sys.exit(main())\n',
    );
    const sub = await entryText(d.entries, 'usr/local/bin/cli-sub');
    assert.match(sub, /^from cli\.cmds import app$/m);
    assert.match(sub, /sys\.exit\(app\.run\(\)\)/);
    assert.ok(d.files.includes('usr/local/bin/cli-gui'));
    assert.ok(!d.files.includes('usr/local/bin/x'));
    assert.ok(d.files.includes('usr/local/lib/python3.11/dist-packages/cli-1.0.dist-info/RECORD'));
    const launcher = d.entries.find((e) => e.path === 'usr/local/bin/cli');
    assert.equal(launcher?.type === 'file' && launcher.mode, 0o755);
  });

  it('refuses a file whose bytes do not match RECORD', async () => {
    const w = await wheel({
      name: 'bad',
      version: '1.0',
      files: [{ name: 'bad/__init__.py', data: 'x = 1\n' }],
      editRecord: (r) => r.replace(/^bad\/__init__\.py,sha256=[^,]+/m, `bad/__init__.py,sha256=${'A'.repeat(43)}`),
    });
    // sha256 rows are checked as the member streams into the layer, so it is inflated once.
    const dist = await installWheel(w, layout);
    const entry = dist.entries.find((e) => e.path.endsWith('bad/__init__.py'));
    assert.ok(entry && entry.type === 'file');
    await assert.rejects(
      (async () => {
        for await (const _ of await entry.open()) void _;
      })(),
      { code: 'SHALE_RECORD_MISMATCH', message: /bad-1\.0-py3-none-any\.whl: bad\/__init__\.py does not match its RECORD/ },
    );
  });

  it('refuses a file RECORD does not list', async () => {
    const w = await wheel({
      name: 'sneaky',
      version: '1.0',
      files: [{ name: 'sneaky/__init__.py', data: '' }],
      editRecord: (r) => r.replace(/^sneaky\/__init__\.py,.*\n/m, ''),
    });
    await assert.rejects(installWheel(w, layout), { code: 'SHALE_BAD_WHEEL', message: /sneaky\/__init__\.py, which its RECORD does not list/ });
  });

  for (const member of ['../evil.py', '/etc/evil.py', 'pkg/../../evil.py', 'pkg\\evil.py']) {
    it(`refuses the zip-slip member "${member}"`, async () => {
      const filename = 'slip-1.0-py3-none-any.whl';
      const path = join(dir, filename);
      writeZip(path, [
        { name: member, data: 'boom' },
        { name: 'slip-1.0.dist-info/WHEEL', data: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\n' },
      ]);
      await assert.rejects(installWheel({ path, filename, sha256: '', pure: true }, layout), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'SHALE_WHEEL_UNSAFE_PATH');
        assert.ok(e.message.includes(filename), e.message);
        assert.ok(e.message.includes('evil.py'), e.message);
        return true;
      });
    });
  }

  it('refuses unknown .data schemes and wheels without a dist-info', async () => {
    const w = await wheel({ name: 'odd', version: '1.0', files: [{ name: 'odd-1.0.data/weird/x', data: '' }] });
    await assert.rejects(installWheel(w, layout), { code: 'SHALE_BAD_WHEEL', message: /not one of purelib, platlib, scripts, data, headers/ });
    const path = join(dir, 'none-1.0-py3-none-any.whl');
    writeZip(path, [{ name: 'none/__init__.py', data: '' }]);
    await assert.rejects(installWheel({ path, filename: 'none-1.0-py3-none-any.whl', sha256: '', pure: true }, layout), {
      code: 'SHALE_BAD_WHEEL',
      message: /dist-info/,
    });
  });
});
