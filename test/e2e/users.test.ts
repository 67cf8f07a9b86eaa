// End to end: `user` and `writable` on the e2e Debian base, run with podman. A name the base
// lacks is created (its passwd/group/shadow lines in a `users` layer right above the base), the
// container runs as it, a writable directory is writable by it (also one the app ships, and one
// under /tmp, which keeps its 1777), and the app's own files are not. The table form gives the
// ids and home; a rebuild reuses the layer; a group the base lacks is an error (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { podmanRun, removeImages, skopeoConfig } from './support/podman.js';
import { useRegistryWithBase } from './support/setup.js';
import { freshCache, shale, shaleJson, type BuildJson } from './support/shale.js';
import { writeProject } from '../support/project.js';

const ctx = useRegistryWithBase();

const toml = (keys: string): string => `name = "users"\nbase = "python:3.11-slim"\nworkdir = "/app"\nentrypoint = ["python3", "main.py"]\n${keys}\n`;

/** Runs a shell script in the image as its configured user. */
const sh = (ref: string, script: string) => podmanRun(ref, ['-c', script], { entrypoint: ['/bin/sh'] });

test('user = "appuser" is created; writable dirs are its, the app is not; a rebuild reuses the users layer', async () => {
  const dir = await writeProject({
    'shale.toml': toml('user = "appuser"\nwritable = ["/app/data", "/tmp/cache"]'),
    'main.py': 'print("hi")\n',
    'data/seed.txt': 'seed\n',
  });
  const ref = `${ctx.reg.host}/demo/users-named:v1`;
  const cache = await freshCache();
  const first = await shale(['build', dir, '--push', ref, '--json', '--debug'], { ...ctx.env, SHALE_CACHE_DIR: cache });
  assert.equal(first.exitCode, 0, first.stderr);
  assert.match(first.stderr, /account files read from 1 of 1 layer\(s\)/, 'the first build reads the base');
  const built = JSON.parse(first.stdout) as BuildJson;
  try {
    const names = built.layers.filter((l) => l.source !== 'base').map((l) => l.name);
    assert.deepEqual(names, ['users', 'app'], 'the users layer sits right above the base');
    const config = (await skopeoConfig(ref))['config'] as { User?: string };
    assert.equal(config.User, 'appuser');
    const r = await sh(
      ref,
      [
        'id -un; id -u; id -g; id -gn',
        'touch /app/data/new && echo data-writable',
        'echo more >> /app/data/seed.txt && echo seed-writable',
        'touch /tmp/cache/x && echo cache-writable',
        'touch /app/other 2>/dev/null && echo app-WRITABLE || echo app-readonly',
        'echo x >> /app/main.py 2>/dev/null && echo main-WRITABLE || echo main-readonly',
        'stat -c "%a %U" /tmp /app /app/main.py /home/appuser',
        'grep appuser /etc/passwd /etc/group',
      ].join('; '),
    );
    const out = r.stdout.trim().split('\n');
    assert.deepEqual(out.slice(0, 4), ['appuser', '10001', '10001', 'appuser']);
    assert.deepEqual(out.slice(4, 9), ['data-writable', 'seed-writable', 'cache-writable', 'app-readonly', 'main-readonly']);
    assert.deepEqual(out.slice(9, 13), ['1777 root', '755 root', '644 root', '755 appuser']);
    assert.deepEqual(out.slice(13), ['/etc/passwd:appuser:x:10001:10001::/home/appuser:/bin/sh', '/etc/group:appuser:x:10001:']);
    // The e2e base (mmdebstrap minbase) keeps no /etc/shadow: shale adds lines to one only where
    // the base has it (unit tests cover that), and never makes one up.
    const shadow = await sh(ref, 'test -e /etc/shadow && echo shadow-MADE || echo no-shadow');
    assert.equal(shadow.stdout.trim(), 'no-shadow');

    const again = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: cache });
    assert.equal(again.digest, built.digest);
    assert.equal(again.layers.find((l) => l.name === 'users')?.source, 'cache');
    // A fresh runner: the image at the tag says what the base has, so no base layer is read, and the layer is the registry's.
    const fresh = await shale(['build', dir, '--push', ref, '--json', '--debug'], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
    assert.equal(fresh.exitCode, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stderr, /account files read from/);
    const freshJson = JSON.parse(fresh.stdout) as BuildJson;
    assert.equal(freshJson.digest, built.digest);
    assert.equal(freshJson.layers.find((l) => l.name === 'users')?.source, 'registry');
  } finally {
    await removeImages(ref);
  }
});

test('the table form gives uid, gid and home; a name the base has is used as it is', async () => {
  const dir = await writeProject({
    'shale.toml': toml('user = { name = "svc", uid = 2000, gid = 3000, home = "/srv/svc" }\nwritable = ["/var/lib/svc"]'),
    'main.py': 'print("hi")\n',
  });
  const ref = `${ctx.reg.host}/demo/users-table:v1`;
  await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  try {
    const r = await sh(ref, 'id -un; id -u; id -g; id -gn; echo $HOME; stat -c "%u:%g %a" /srv/svc /var/lib/svc; touch /var/lib/svc/x && echo ok');
    assert.deepEqual(r.stdout.trim().split('\n'), ['svc', '2000', '3000', 'svc', '/srv/svc', '2000:3000 755', '2000:3000 755', 'ok']);
  } finally {
    await removeImages(ref);
  }

  const nobody = await writeProject({ 'shale.toml': toml('user = "nobody"'), 'main.py': 'print("hi")\n' });
  const ref2 = `${ctx.reg.host}/demo/users-nobody:v1`;
  const built = await shaleJson(['build', nobody, '--push', ref2], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  try {
    assert.ok(!built.layers.some((l) => l.name === 'users'), 'nothing to add: no users layer');
    const r = await sh(ref2, 'id -un; id -u');
    assert.deepEqual(r.stdout.trim().split('\n'), ['nobody', '65534']);
  } finally {
    await removeImages(ref2);
  }
});

test('a group the base lacks is exit 2 naming the key and the group', async () => {
  const dir = await writeProject({ 'shale.toml': toml('user = "appuser:nosuchgroup"'), 'main.py': 'print("hi")\n' });
  const r = await shale(['build', dir, '--oci', join(dir, 'out')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /user = "appuser:nosuchgroup": group "nosuchgroup" is not in \/etc\/group of base image docker\.io\/library\/python:3\.11-slim/);
});

test("a team's base whose WORKDIR is its user's (made here by shale): an app copied into it leaves the directory theirs, as COPY does", async () => {
  const baseDir = await writeProject({ 'shale.toml': toml('user = "appuser"\nwritable = ["/app"]'), 'main.py': 'print("base")\n' });
  const baseRef = `${ctx.reg.host}/demo/team-base:v1`;
  await shaleJson(['build', baseDir, '--push', baseRef], ctx.env);
  const dir = await writeProject({
    'shale.toml': `name = "on-team-base"\nbase = "${baseRef}"\nworkdir = "/app"\nuser = "appuser"\nentrypoint = ["python3", "main.py"]\n`,
    'main.py': 'open("/app/state.txt", "w").write("ok")\nprint("wrote state")\n',
  });
  const ref = `${ctx.reg.host}/demo/on-team-base:v1`;
  const built = await shaleJson(['build', dir, '--push', ref], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
  try {
    const run = await podmanRun(ref, []);
    assert.equal(run.stdout.trim(), 'wrote state', 'the app writes into its WORKDIR, which the base gave its user');
    const st = await sh(ref, 'stat -c "%a %U" /app /app/main.py');
    assert.deepEqual(st.stdout.trim().split('\n'), ['755 appuser', '644 root'], "the directory is still the base's; the app's files are root's");
    const again = await shaleJson(['build', dir, '--oci', join(dir, '.shale', 'again')], { ...ctx.env, SHALE_CACHE_DIR: await freshCache() });
    assert.equal(again.digest, built.digest, 'reproducible');
  } finally {
    await removeImages(ref, baseRef);
  }
});
