// The `users` layer from a base's layers: the account files as the base has them plus the new
// lines, the home and writable directories owned by the user, directories on the way written as
// the base has them (/tmp keeps 1777), a symlink in the way refused; read once per base digest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { BaseSource } from '../../../src/base/facts.js';
import type { BuildSpec } from '../../../src/config/spec.js';
import { parseUser, parseWritable } from '../../../src/config/run-as.js';
import type { Entry } from '../../../src/layer/entry.js';
import { Cache } from '../../../src/store/cache.js';
import { ownWritable, planUsers } from '../../../src/plan/users-layer.js';
import { baseWorkdirDirs, baseWorkdirPaths, keepLowerDirs, ownedDirs } from '../../../src/plan/lower-dirs.js';
import { shareableRecord } from '../../../src/base/etc-files.js';
import { join } from 'node:path';
import { entryInputs } from '../../../src/plan/fingerprint.js';
import { cleanup, tempDir } from '../python/helpers.js';
import { tarBuffer, type TarEntry } from '../../support/tar.js';

async function baseOf(entries: TarEntry[], opened: string[]): Promise<BaseSource> {
  const bytes = gzipSync(await tarBuffer(entries));
  return {
    name: 'example/base:1',
    digest: `sha256:${'1'.repeat(64)}`,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    layers: [
      {
        descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'2'.repeat(64)}`, size: bytes.length },
        open: async () => {
          opened.push('base');
          return Readable.from([bytes]);
        },
      },
    ],
  };
}

const BASE: TarEntry[] = [
  { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
  { header: { name: 'etc/passwd', mode: 0o644 }, data: 'root:x:0:0:root:/root:/bin/bash\n' },
  { header: { name: 'etc/group', mode: 0o644 }, data: 'root:x:0:\nshadow:x:42:\n' },
  { header: { name: 'etc/shadow', mode: 0o640, gid: 42 }, data: 'root:*:19000:0:99999:7:::\n' },
  { header: { name: 'tmp/', type: 'directory', mode: 0o1777 } },
  { header: { name: 'var/', type: 'directory', mode: 0o755 } },
  { header: { name: 'var/run', type: 'symlink', linkname: '/run' } },
];

const spec = (user: Parameters<typeof parseUser>[2], writable: string[] = []): BuildSpec => {
  const { user: u, account } = parseUser('shale.toml', 'user', user);
  return {
    configFile: 'shale.toml',
    user: u,
    ...(account ? { account } : {}),
    writable: parseWritable('shale.toml', 'writable', writable, account),
  } as unknown as BuildSpec;
};

const show = (entries: readonly Entry[]) =>
  entries.map((e) => `${e.type} /${e.path} ${e.type !== 'symlink' && e.owner ? `${e.owner.mode.toString(8)} ${e.owner.uid}:${e.owner.gid}` : '-'}`).sort();

describe('planUsers', () => {
  it('writes the account files, the home and the writable dirs, with the parents as the base has them; read once per base', async () => {
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const opened: string[] = [];
      const base = await baseOf(BASE, opened);
      const plan = await planUsers(spec('appuser', ['/tmp/cache', '/app/data']), base, cache.base, false, () => {});
      assert.ok(plan);
      assert.deepEqual(show(plan.entries), [
        'dir /app/data 755 10001:10001',
        'dir /etc 755 0:0',
        'dir /home/appuser 755 10001:10001',
        'dir /tmp 1777 0:0',
        'dir /tmp/cache 755 10001:10001',
        'file /etc/group 644 0:0',
        'file /etc/passwd 644 0:0',
        'file /etc/shadow 640 0:42',
      ]);
      assert.equal(plan.createdBy, 'shale: users: appuser (10001:10001) created; writable /app/data /tmp/cache');
      // The fingerprint sees owners and modes.
      const inputs = await entryInputs(plan.entries);
      assert.ok(inputs.some((i) => i.path === 'etc/shadow' && i.kind === 'f0640 0:42'));
      assert.ok(inputs.some((i) => i.path === 'tmp' && i.kind === 'd' && i.content === '1777 0:0'));
      // Recorded per base digest: the next plan reads no layer.
      const again = await planUsers(spec('appuser', ['/tmp/cache', '/app/data']), base, cache.base, false, () => {});
      assert.deepEqual(show(again!.entries), show(plan.entries));
      assert.deepEqual(opened, ['base']);
      // A fresh runner with the record an earlier image carries reads no layer either, and plans the same layer.
      const fresh = Cache.open(join(dir, 'fresh'));
      const fromRegistry = await planUsers(spec('appuser', ['/tmp/cache', '/app/data']), base, fresh.base, false, () => {}, plan.record);
      assert.deepEqual(show(fromRegistry!.entries), show(plan.entries));
      assert.deepEqual(opened, ['base']);
      assert.equal(fromRegistry!.record, plan.record);
    } finally {
      await cleanup(dir);
    }
  });

  it('nothing for a numeric user without writable dirs, or a name the base has; a symlink on the way is an error', async () => {
    const dir = await tempDir();
    try {
      const cache = Cache.open(dir);
      const opened: string[] = [];
      const base = await baseOf(BASE, opened);
      assert.equal(await planUsers(spec('65532'), base, cache.base, false, () => {}), undefined);
      assert.deepEqual(opened, [], 'not even read');
      assert.deepEqual((await planUsers(spec('root'), base, cache.base, false, () => {}))?.entries, []);
      await assert.rejects(
        planUsers(spec('65532', ['/var/run/app']), base, cache.base, false, () => {}),
        { code: 'SHALE_WRITABLE_NOT_DIR', message: /\/var\/run is a symlink to \/run in base image example\/base:1/ },
      );
    } finally {
      await cleanup(dir);
    }
  });
});

describe('shareableRecord', () => {
  it('leaves out a shadow file that holds a password hash, keeps locked ones', () => {
    const f = (text: string) => ({ type: 'file' as const, mode: 0o640, uid: 0, gid: 42, text });
    const shared = JSON.parse(
      shareableRecord(
        new Map([
          ['/etc/passwd', f('root:x:0:0::/root:/bin/sh\n')],
          ['/etc/shadow', f('root:$6$salt$hash:19000:0:99999:7:::\n')],
          ['/etc/gshadow', f('root:*::\nstaff:!::\n')],
          ['/home', null],
        ]),
      ),
    ) as Record<string, unknown>;
    assert.deepEqual(Object.keys(shared), ['/etc/gshadow', '/etc/passwd', '/home']);
  });
});

describe('ownWritable', () => {
  it('gives what lies at or under a writable dir to the user, and nothing else', () => {
    const app: Entry[] = [
      { type: 'dir', path: 'app' },
      { type: 'dir', path: 'app/data' },
      { type: 'file', path: 'app/data/seed.txt', mode: 0o600, size: 0, open: () => Readable.from([]) },
      { type: 'file', path: 'app/main.py', mode: 0o644, size: 0, open: () => Readable.from([]) },
      { type: 'dir', path: 'app/database' },
    ];
    assert.deepEqual(show(ownWritable(app, ['/app/data'], { uid: 7, gid: 8, created: true })), [
      'dir /app -',
      'dir /app/data 755 7:8',
      'dir /app/database -',
      'file /app/data/seed.txt 644 7:8',
      'file /app/main.py -',
    ]);
  });
});

describe('keepLowerDirs', () => {
  it("writes the users layer's directories as it has them where a later layer holds them or needs them as parents", () => {
    const users: Entry[] = [
      { type: 'dir', path: 'home', owner: { uid: 0, gid: 0, mode: 0o755 } },
      { type: 'dir', path: 'home/appuser', owner: { uid: 10001, gid: 10001, mode: 0o755 } },
      { type: 'dir', path: 'tmp', owner: { uid: 0, gid: 0, mode: 0o1777 } },
      { type: 'dir', path: 'tmp/cache', owner: { uid: 10001, gid: 10001, mode: 0o755 } },
    ];
    const app: Entry[] = [
      { type: 'dir', path: 'home/appuser/app' },
      { type: 'file', path: 'home/appuser/app/main.py', mode: 0o644, size: 0, open: () => Readable.from([]) },
      { type: 'dir', path: 'tmp' },
      { type: 'dir', path: 'srv/static', owner: { uid: 1, gid: 1, mode: 0o700 } },
    ];
    assert.deepEqual(show(keepLowerDirs(app, ownedDirs(users))), [
      'dir /home 755 0:0',
      'dir /home/appuser 755 10001:10001',
      'dir /home/appuser/app -',
      'dir /srv/static 700 1:1',
      'dir /tmp 1777 0:0',
      'file /home/appuser/app/main.py -',
    ]);
  });
});

describe('baseWorkdirPaths', () => {
  it("is the base's WorkingDir and the directories above it; nothing for unset, / or a climb past the root", () => {
    const base = (WorkingDir?: string) => ({
      config: {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers' as const, diff_ids: [] },
        config: { ...(WorkingDir === undefined ? {} : { WorkingDir }) },
      },
    });
    assert.deepEqual(baseWorkdirPaths(base('/srv/app/')), ['/srv', '/srv/app']);
    assert.deepEqual(baseWorkdirPaths(base('/app')), ['/app']);
    assert.deepEqual(baseWorkdirPaths(base('/srv/../app')), ['/app']);
    for (const w of [undefined, '', '/', '/..']) assert.deepEqual(baseWorkdirPaths(base(w)), [], String(w));
  });
});

describe('baseWorkdirDirs', () => {
  it("reads the base's WorkingDir owner once per base digest, only when it sets one, and keeps what is not root 0755", async () => {
    const dir = await tempDir();
    try {
      const records = Cache.open(join(dir, 'cache')).base;
      const opened: string[] = [];
      const layers: TarEntry[] = [
        { header: { name: 'srv/', type: 'directory', mode: 0o755 } },
        { header: { name: 'srv/app/', type: 'directory', mode: 0o750, uid: 10001, gid: 10001 } },
      ];
      const base = await baseOf(layers, opened);
      assert.deepEqual(await baseWorkdirDirs(base, records, false, () => undefined), { dirs: new Map() }, 'no WorkingDir: nothing read');
      assert.deepEqual(opened, []);
      const withWorkdir = { ...base, config: { ...base.config, config: { WorkingDir: '/srv/app' } } };
      const read = await baseWorkdirDirs(withWorkdir, records, false, () => undefined);
      assert.deepEqual([...read.dirs], [['srv/app', { uid: 10001, gid: 10001, mode: 0o750 }]], '/srv is root 0755: nothing to keep');
      assert.match(read.record ?? '', /"\/srv\/app":\{"type":"dir","mode":488,"uid":10001,"gid":10001\}/);
      await baseWorkdirDirs(withWorkdir, records, false, () => undefined);
      assert.deepEqual(opened, ['base'], 'read once per base digest');

      // With a user too, both are read in one pass (even with --no-cache, as validate builds).
      const both: string[] = [];
      const withUser = { ...(await baseOf([...BASE, ...layers], both)), config: withWorkdir.config };
      const users = await planUsers(spec('appuser'), withUser, records, true, () => undefined, undefined, baseWorkdirPaths(withUser));
      const wd = await baseWorkdirDirs(withUser, records, true, () => undefined, undefined, users?.found);
      assert.deepEqual([...wd.dirs.keys()], ['srv/app']);
      assert.deepEqual(both, ['base'], 'one pass over the base for the account files and the working directory');
    } finally {
      await cleanup(dir);
    }
  });
});
