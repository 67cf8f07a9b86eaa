// The account the container runs as, against a base's /etc/passwd, /etc/group, /etc/shadow and
// /etc/gshadow: created with reproducible lines when missing, used as it is when present,
// numeric users never created, and each impossible request an error naming the key and the base.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_ID, parseGroup, parsePasswd, planAccount, type BaseAccounts } from '../../../src/base/accounts.js';
import { parseUser } from '../../../src/config/run-as.js';
import type { UserSpec } from '../../../src/config/spec.js';

const PASSWD =
  'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' +
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nold:x:10001:10001::/home/old:/bin/sh\n';
const GROUP = 'root:x:0:\nshadow:x:42:\nstaff:x:50:\nnogroup:x:65534:\nold:x:10001:\n';
const base = (extra: Partial<BaseAccounts> = {}): BaseAccounts => ({
  passwd: { text: PASSWD, mode: 0o644, uid: 0, gid: 0 },
  group: { text: GROUP, mode: 0o644, uid: 0, gid: 0 },
  shadow: { text: 'root:*:19000:0:99999:7:::', mode: 0o640, uid: 0, gid: 42 },
  gshadow: { text: 'root:*::\n', mode: 0o640, uid: 0, gid: 42 },
  ...extra,
});
const ctx = { base: 'base image example/base:1', key: 'shale.toml: user' };
const req = (value: Parameters<typeof parseUser>[2]): UserSpec => parseUser('shale.toml', 'user', value).account!;

describe('planAccount', () => {
  it('creates a missing name with the first id free as uid and gid from 10001 up, its group, home and locked password', () => {
    const plan = planAccount(req('appuser'), base(), ctx);
    assert.equal(FIRST_ID, 10001);
    // 10001 is taken by "old", so 10002 for both.
    assert.deepEqual(plan.account, { name: 'appuser', uid: 10002, gid: 10002, home: '/home/appuser', created: true, createdGroup: 'appuser' });
    assert.equal(plan.files.get('/etc/passwd')?.text, `${PASSWD}appuser:x:10002:10002::/home/appuser:/bin/sh\n`);
    assert.equal(plan.files.get('/etc/group')?.text, `${GROUP}appuser:x:10002:\n`);
    // A shadow without a final newline gets one before the new line; its mode and group are kept.
    assert.deepEqual(plan.files.get('/etc/shadow'), { text: 'root:*:19000:0:99999:7:::\nappuser:!::0:99999:7:::\n', mode: 0o640, uid: 0, gid: 42 });
    assert.equal(plan.files.get('/etc/gshadow')?.text, 'root:*::\nappuser:!::\n');
    // The lines parse back as what was asked.
    assert.deepEqual(parsePasswd(plan.files.get('/etc/passwd')?.text).at(-1), {
      name: 'appuser',
      uid: 10002,
      gid: 10002,
      home: '/home/appuser',
      shell: '/bin/sh',
    });
    assert.deepEqual(parseGroup(plan.files.get('/etc/group')?.text).at(-1), { name: 'appuser', gid: 10002 });
    // Same base, same request: same bytes.
    assert.deepEqual(planAccount(req('appuser'), base(), ctx), plan);
  });

  it('the table form gives uid, gid and home; a base without shadow files gets none', () => {
    const plan = planAccount(req({ name: 'svc', uid: 2000, gid: 3000, home: '/srv/svc' }), base({ shadow: undefined, gshadow: undefined }), ctx);
    assert.deepEqual(plan.account, { name: 'svc', uid: 2000, gid: 3000, home: '/srv/svc', created: true, createdGroup: 'svc' });
    assert.deepEqual([...plan.files.keys()].sort(), ['/etc/group', '/etc/passwd']);
  });

  it('"name:group" uses a group the base has and creates none; a missing group is an error', () => {
    const plan = planAccount(req('appuser:staff'), base(), ctx);
    assert.equal(plan.account.gid, 50);
    assert.equal(plan.account.uid, 10001 + 1);
    assert.ok(!plan.files.has('/etc/group'));
    assert.throws(() => planAccount(req('appuser:wheel'), base(), ctx), {
      code: 'SHALE_USER_GROUP',
      message: /shale\.toml: user = "appuser:wheel": group "wheel" is not in \/etc\/group of base image example\/base:1/,
    });
  });

  it('a gid a group already has joins it; a uid another user has is an error', () => {
    assert.equal(planAccount(req({ name: 'svc', gid: 65534 }), base(), ctx).files.has('/etc/group'), false);
    assert.throws(() => planAccount(req({ name: 'svc', uid: 1 }), base(), ctx), { code: 'SHALE_USER_UID_TAKEN', message: /uid 1 is user "daemon"/ });
  });

  it('a name the base has is used as it is; the table form must agree with it', () => {
    const plan = planAccount(req('nobody'), base(), ctx);
    assert.deepEqual(plan.account, { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', created: false });
    assert.equal(plan.files.size, 0);
    assert.throws(() => planAccount(req({ name: 'nobody', uid: 1000 }), base(), ctx), {
      code: 'SHALE_USER_EXISTS',
      message: /already has user "nobody" with uid 65534/,
    });
  });

  it("numeric users are never created: the group is the given one, else the passwd entry's, else root's", () => {
    assert.deepEqual(planAccount(req('65532'), base(), ctx), { account: { uid: 65532, gid: 0, created: false }, files: new Map() });
    assert.deepEqual(planAccount(req('1000:1000'), base(), ctx).account, { uid: 1000, gid: 1000, created: false });
    assert.deepEqual(planAccount(req('65534'), base(), ctx).account, { name: 'nobody', home: '/nonexistent', uid: 65534, gid: 65534, created: false });
  });

  it('a base without /etc/passwd (scratch) gets one holding root and the new user, and a group file likewise', () => {
    const plan = planAccount(req('app'), {}, ctx);
    assert.deepEqual(plan.files.get('/etc/passwd'), {
      text: 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/home/app:/bin/sh\n',
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
    assert.equal(plan.files.get('/etc/group')?.text, 'root:x:0:\napp:x:10001:\n');
  });
});

describe('parseUser', () => {
  it('reads every form, and refuses what is no user', () => {
    assert.deepEqual(parseUser('f', 'user', ''), { user: '' });
    assert.deepEqual(parseUser('f', 'user', '65532'), { user: '65532', account: { written: '"65532"', uid: 65532 } });
    assert.deepEqual(parseUser('f', 'user', 'app:staff').account, { written: '"app:staff"', name: 'app', group: 'staff' });
    assert.deepEqual(parseUser('f', 'user', { name: 'svc', uid: 2 }), { user: 'svc', account: { written: '{ name = "svc", uid = 2 }', name: 'svc', uid: 2 } });
    assert.throws(() => parseUser('f', 'user', 'a:b:c'), { code: 'SHALE_CONFIG_INVALID' });
    assert.throws(() => parseUser('f', 'user', '-x'), { code: 'SHALE_CONFIG_INVALID', message: /neither a user name nor a uid/ });
  });
});
