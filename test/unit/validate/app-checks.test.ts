// The checks of what would crash at `podman run`: the script or module the entrypoint runs
// (app-entry), shale's packages where the image's Python reads them (python-site), their
// requirements met (requirements), and the user in /etc/passwd (user). Layers are hand-made tars
// read back by the code under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageConfig, Platform } from '../../../src/oci/types.js';
import { checkAppEntry, entryTargets } from '../../../src/validate/app-entry.js';
import { checkPythonSite } from '../../../src/validate/python-site.js';
import { checkRequirements } from '../../../src/validate/requirements.js';
import type { ImageView, LayerView } from '../../../src/validate/result.js';
import { checkUser } from '../../../src/validate/user.js';
import { layer, type Item } from './fixtures.js';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const image = (layers: LayerView[], c: NonNullable<ImageConfig['config']>): ImageView => ({
  platform: amd64,
  layers,
  config: { architecture: 'amd64', os: 'linux', config: c, rootfs: { type: 'layers', diff_ids: [] } },
});

/** Debian's python3.11, as the e2e base has it, with a passwd and one apt-installed egg-info. */
const debianBase = (): Promise<LayerView> =>
  layer(
    'base',
    [
      { name: 'usr/bin/python3', type: 'symlink', linkname: 'python3.11' },
      { name: 'usr/bin/python3.11', data: 'ELF', mode: 0o755 },
      { name: 'usr/lib/python3.11/', type: 'directory' },
      { name: 'usr/lib/python3.11/os.py', data: '' },
      { name: 'usr/lib/python3.11/json/__init__.py', data: '' },
      { name: 'usr/lib/python3/dist-packages/', type: 'directory' },
      { name: 'usr/lib/python3/dist-packages/six-1.16.0.egg-info', data: '' },
      { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n' },
      { name: 'etc/group', data: 'root:x:0:\nstaff:x:50:\n' },
    ],
    false,
  );

const SITE = 'usr/local/lib/python3.11/dist-packages';
const dist = (site: string, name: string, version: string, requires: string[] = []): Item[] => [
  { name: `${site}/${name}/__init__.py`, data: '' },
  {
    name: `${site}/${name}-${version}.dist-info/METADATA`,
    data: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n${requires.map((r) => `Requires-Dist: ${r}\n`).join('')}\nA long description\n`,
  },
];

describe('entryTargets', () => {
  it("reads python3, -m, and the runners' app argument past their options", () => {
    assert.deepEqual(entryTargets(['python3', '-u', '-X', 'dev', 'main.py', '--port', '1']), [{ kind: 'script', path: 'main.py' }]);
    assert.deepEqual(entryTargets(['python', '-m', 'pkg.mod']), [{ kind: 'module', module: 'pkg.mod', asMain: true, by: 'python3 -m pkg.mod', dirs: [] }]);
    assert.deepEqual(entryTargets(['gunicorn', '-w', '2', '-b', '0.0.0.0:8000', 'mod:app']), [
      { kind: 'module', module: 'mod', asMain: false, by: 'gunicorn mod:app', dirs: [] },
    ]);
    assert.deepEqual(
      entryTargets(['gunicorn', '--chdir', 'src', '--pythonpath', 'lib,vendor', 'wsgi']).map((t) => t.kind === 'module' && [t.module, t.dirs]),
      [['wsgi', ['src', 'lib', 'vendor']]],
    );
    assert.deepEqual(
      entryTargets(['python3', '-m', 'uvicorn', '--app-dir', 'src', 'app.main:app', '--host', '0.0.0.0']).map(
        (t) => t.kind === 'module' && [t.module, t.asMain, t.dirs],
      ),
      [
        ['uvicorn', true, []],
        ['app.main', false, ['src']],
      ],
    );
    assert.equal(entryTargets(['/usr/local/bin/uvicorn', '--host=0.0.0.0', 'main:app'])[0]?.kind, 'module');
    assert.match(JSON.stringify(entryTargets(['gunicorn', '-c', 'gunicorn.conf.py'])), /config file/);
    assert.match(JSON.stringify(entryTargets(['python3', '-c', 'print(1)'])), /inline code/);
    assert.match(JSON.stringify(entryTargets(['./start.sh'])), /not python3/);
  });
});

describe('app-entry', () => {
  it("passes for a script and modules found on the image's sys.path; fails naming what is missing and where it looked", async () => {
    const base = await debianBase();
    const app = await layer('app', [
      { name: 'app/main.py', data: '' },
      { name: 'app/pkg/__init__.py', data: '' },
      { name: 'app/pkg/__main__.py', data: '' },
      { name: 'app/web/asgi.py', data: '' },
    ]);
    const deps = await layer('deps', [
      ...dist(SITE, 'uvicorn', '0.30.0'),
      { name: `${SITE}/uvicorn/__main__.py`, data: '' },
      { name: `${SITE}/fast.cpython-311-x86_64-linux-gnu.so`, data: 'ELF' },
    ]);
    const check = (c: NonNullable<ImageConfig['config']>) => checkAppEntry([image([base, deps, app], { WorkingDir: '/app', ...c })]);
    assert.equal(check({ Entrypoint: ['python3', 'main.py'] }).reason, 'linux/amd64: script main.py is /app/main.py');
    assert.equal(check({ Entrypoint: ['python3', '-m', 'pkg'] }).ok, true);
    const uv = check({ Entrypoint: ['python3', '-m', 'uvicorn', 'web.asgi:app'] });
    assert.equal(
      uv.reason,
      `linux/amd64: python3 -m uvicorn: module uvicorn is /${SITE}/uvicorn/__main__.py; linux/amd64: uvicorn web.asgi:app: module web.asgi is /app/web/asgi.py`,
    );
    assert.equal(check({ Entrypoint: ['gunicorn', 'fast:app'] }).ok, true, 'an extension module counts');
    assert.equal(check({ Entrypoint: ['uvicorn', 'json:x'] }).ok, true, 'the standard library is on sys.path');
    assert.equal(check({ Entrypoint: ['uvicorn', 'lib.mod:app'], Env: ['PYTHONPATH=/app/web:/opt'] }).ok, false);

    const noScript = check({ Entrypoint: ['python3'], Cmd: ['server.py'] });
    assert.equal(noScript.ok, false);
    assert.equal(
      noScript.problems[0],
      'linux/amd64: the entrypoint runs server.py, but /app/server.py is not in the image (WorkingDir /app); add it to `app` or fix the entrypoint',
    );
    const noModule = check({ Entrypoint: ['uvicorn', 'app.main:app'] });
    assert.match(
      noModule.problems[0] ?? '',
      /^linux\/amd64: uvicorn app\.main:app: module app\.main is not on the image's sys\.path \(\/app:\/usr\/lib\/python311\.zip:.*\/dist-packages/,
    );
    assert.equal(check({ Entrypoint: ['python3', '-m', 'web'] }).ok, false, 'a package without __main__.py cannot run with -m');
  });
});

describe('python-site and requirements', () => {
  it("packages where Debian's python3 reads them pass; packages for another Python fail naming both", async () => {
    const base = await debianBase();
    const good = await layer('deps', [
      ...dist(SITE, 'flask', '3.1.0', ['werkzeug>=3', 'six', 'colorama; sys_platform == "win32"']),
      ...dist(SITE, 'werkzeug', '3.1.3'),
    ]);
    const ok = checkPythonSite([image([base, good], {})]);
    assert.equal(
      ok.reason,
      `linux/amd64: python3 is /usr/bin/python3 → /usr/bin/python3.11 (3.11 debian); 2 distribution(s) from shale in /${SITE}, which it reads`,
    );
    const req = checkRequirements([image([base, good], {})]);
    assert.equal(req.ok, true, req.reason);
    assert.match(req.reason, /3 distribution\(s\) in .* every Requires-Dist and Requires-Python met/);

    const wrong = await layer('deps', dist('usr/local/lib/python3.12/site-packages', 'flask', '3.1.0'));
    const bad = checkPythonSite([image([base, wrong], {})]);
    assert.equal(bad.ok, false);
    assert.equal(
      bad.problems[0],
      'linux/amd64: flask-3.1.0 are in /usr/local/lib/python3.12/site-packages, which /usr/bin/python3 → /usr/bin/python3.11 (3.11 debian) does not read ' +
        `(it reads /${SITE}, /usr/lib/python3/dist-packages, /usr/lib/python3.11/dist-packages)`,
    );
  });

  it('directories named by path lines of .pth files in a site directory count, as site.py adds them; comments and import lines do not', async () => {
    const base = await debianBase();
    const OFFICIAL = 'usr/local/lib/python3.11/site-packages';
    // The e2e official-like base: /usr/local/bin/python3 → Debian's python3.11, site-packages named by a .pth in dist-packages.
    const pth = (text: string) =>
      layer(
        'official',
        [
          { name: 'usr/local/bin/python3', type: 'symlink', linkname: '/usr/bin/python3.11' },
          { name: `${SITE}/`, type: 'directory' },
          { name: `${SITE}/official.pth`, data: text },
          { name: `${OFFICIAL}/`, type: 'directory' },
          { name: 'usr/local/lib/python3.11/extra/', type: 'directory' },
        ],
        false,
      );
    const deps = await layer('deps', [...dist(OFFICIAL, 'flask', '3.1.0', ['six']), ...dist('usr/local/lib/python3.11/extra', 'werkzeug', '3.1.3')]);
    const env = { Env: ['PATH=/usr/local/bin:/usr/bin'] };
    const good = await pth(`# the official layout\n/${OFFICIAL}\r\nimport os; os.environ\n\n../extra  \n/usr/local/lib/python3.11/missing\n`);
    const ok = checkPythonSite([image([base, good, deps], env)]);
    assert.equal(ok.ok, true, ok.problems.join('; '));
    assert.match(ok.reason, new RegExp(`/${OFFICIAL} through /${SITE}/official\\.pth, /usr/local/lib/python3\\.11/extra through /${SITE}/official\\.pth\\)$`));
    const req = checkRequirements([image([base, good, deps], env)]);
    assert.equal(req.ok, true, req.reason);
    assert.match(req.reason, /3 distribution\(s\) in /);
    const app = checkAppEntry([image([base, good, deps], { ...env, Entrypoint: ['gunicorn', 'flask:app'] })]);
    assert.equal(app.reason, `linux/amd64: gunicorn flask:app: module flask is /${OFFICIAL}/flask/__init__.py`);
    const missing = checkAppEntry([image([base, good, deps], { ...env, Entrypoint: ['gunicorn', 'nope:app'] })]);
    assert.doesNotMatch(missing.problems[0] ?? '', /missing/, 'a .pth line naming no directory is not on sys.path');

    // Only .pth files of site directories, and small ones, are kept as text (a model's weights may be called .pth).
    const kept = await layer('other', [
      { name: 'opt/model.pth', data: '/opt\n' },
      { name: `${SITE}/big.pth`, data: `/opt\n${'#'.repeat(70_000)}\n` },
    ]);
    assert.deepEqual(
      kept.entries.map((e) => [e.path, e.text]),
      [
        ['/opt/model.pth', undefined],
        [`/${SITE}/big.pth`, undefined],
      ],
    );

    // A .pth with only comments and import lines names nothing: the packages are where python3 does not look.
    const none = await pth(`#/${OFFICIAL}\nimport sys; sys.path.append('/${OFFICIAL}')\n`);
    const bad = checkPythonSite([image([base, none, deps], env)]);
    assert.equal(bad.ok, false);
    assert.match(
      bad.problems[0] ?? '',
      new RegExp(`^linux/amd64: flask-3\\.1\\.0 are in /${OFFICIAL}, which /usr/local/bin/python3 → /usr/bin/python3\\.11 \\(3\\.11 debian\\) does not read`),
    );
  });

  it('requirements: a missing or too old requirement, and a Requires-Python the image does not fit, fail', async () => {
    const base = await debianBase();
    const deps = await layer('deps', [
      ...dist(SITE, 'flask', '3.1.0', ['werkzeug>=3.1', 'click']),
      ...dist(SITE, 'werkzeug', '2.0.3'),
      ...dist(SITE, 'new', '1.0', []),
    ]);
    const r = checkRequirements([image([base, deps], {})]);
    assert.equal(r.ok, false);
    assert.deepEqual(r.problems, [
      'linux/amd64: flask 3.1.0 requires werkzeug>=3.1, but the image has werkzeug 2.0.3',
      'linux/amd64: flask 3.1.0 requires click, which the image does not have for this target',
    ]);
  });
});

describe('user', () => {
  it('a name must be in /etc/passwd, a group name in /etc/group; numeric ids need nothing', async () => {
    const img = async (user: string) => checkUser([image([await debianBase()], { User: user })]);
    assert.equal((await img('nobody')).reason, 'linux/amd64: User "nobody": nobody is in /etc/passwd (uid 65534, gid 65534, home /nonexistent)');
    assert.equal((await img('65532:65532')).reason, 'linux/amd64: User "65532:65532": uid 65532 is numeric (no /etc/passwd entry needed)');
    assert.equal((await img('nobody:staff')).ok, true);
    assert.match((await img('appuser')).problems[0] ?? '', /User "appuser": it is not in \/etc\/passwd, so the container would not start/);
    assert.match((await img('nobody:wheel')).problems[0] ?? '', /group "wheel" is not in \/etc\/group/);
    assert.equal((await checkUser([image([await debianBase()], {})])).reason, 'linux/amd64: no User: runs as root');
  });
});
