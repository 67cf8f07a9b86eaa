// Credentials and TLS against real registries (Debian's docker-registry): htpasswd Basic auth with
// config.json, a credential helper on PATH, env credentials for CI, containers' auth.json, and a
// TLS registry with its own CA (--registry-ca, SSL_CERT_FILE). Secrets never show up in output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { repoRoot } from './support/cache.js';
import { startRegistry, type Registry } from './support/registry.js';
import { skopeoInspect } from './support/podman.js';
import { shale, shaleJson } from './support/shale.js';
import { installCredHelper, type CredHelper } from './support/cred-helper.js';

const ctx = useRegistryWithBase();
const app = join(repoRoot(), 'examples', 'hello_python');
const USER = 'ci-bot';
const PASSWORD = 'Tr0ub4dor-and-3';
let authReg: Registry;
let tlsReg: Registry;
let helper: CredHelper;

before(async () => {
  [authReg, tlsReg, helper] = await Promise.all([
    startRegistry({ htpasswd: { user: USER, password: PASSWORD } }),
    startRegistry({ tls: true }),
    installCredHelper(),
  ]);
});
after(async () => {
  await Promise.all([authReg?.stop(), tlsReg?.stop(), helper?.remove()]);
});

/** The e2e env with a Docker config of our own and nothing from this machine's logins. */
async function env(config: unknown, extra: Record<string, string> = {}): Promise<Record<string, string | undefined>> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-docker-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return {
    ...ctx.env,
    DOCKER_CONFIG: dir,
    XDG_RUNTIME_DIR: undefined,
    REGISTRY_AUTH_FILE: undefined,
    SHALE_REGISTRY_USER: undefined,
    SHALE_REGISTRY_PASSWORD: undefined,
    SHALE_REGISTRY_HOST: undefined,
    ...extra,
  };
}
const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');
const creds = { user: USER, password: PASSWORD };

function assertNoSecret(text: string): void {
  assert.ok(!text.includes(PASSWORD), 'the password is never printed');
  assert.ok(!text.includes(basic(USER, PASSWORD)), 'nor its base64');
}

test('htpasswd registry: config.json auths push; a wrong password and no login fail clearly, without the secret', async () => {
  const ref = `${authReg.host}/demo/auth:v1`;
  const out = await shaleJson(['build', app, '--push', ref], await env({ auths: { [authReg.host]: { auth: basic(USER, PASSWORD) } } }));
  assert.equal((await skopeoInspect(ref, { creds })).Digest, out.digest);

  const wrong = await shale(
    ['build', app, '--push', `${authReg.host}/demo/auth:v2`, '--debug'],
    await env({ auths: { [authReg.host]: { username: USER, password: 'not-the-password' } } }),
  );
  assert.equal(wrong.exitCode, 1, wrong.stderr);
  assert.match(wrong.stderr, new RegExp(`refused the credentials for user '${USER}'`));
  assert.ok(!wrong.stderr.includes('not-the-password'));

  const none = await shale(['build', app, '--push', `${authReg.host}/demo/auth:v2`], await env({}));
  assert.equal(none.exitCode, 1, none.stderr);
  assert.match(none.stderr, /requires a login .*docker login/);
});

test('credential helpers: credHelpers per host win over auths; "not found" is anonymous; a failing helper is a clear error', async () => {
  await helper.answer({ [authReg.host]: { Username: USER, Secret: PASSWORD } });
  const path = { PATH: helper.path };
  const ref = `${authReg.host}/demo/helper:v1`;
  // The auths entry is wrong on purpose: the per-host helper must win.
  const out = await shaleJson(
    ['build', app, '--push', ref],
    await env(
      {
        credHelpers: { [authReg.host]: helper.name },
        auths: { [authReg.host]: { auth: basic(USER, 'stale') } },
      },
      path,
    ),
  );
  assert.equal((await skopeoInspect(ref, { creds })).Digest, out.digest);
  assert.ok((await helper.calls()).includes(authReg.host), 'the helper was asked for the host');

  await helper.answer({});
  const notFound = await shale(['build', app, '--push', `${authReg.host}/demo/helper:v2`], await env({ credsStore: helper.name }, path));
  assert.equal(notFound.exitCode, 1, notFound.stderr);
  assert.match(notFound.stderr, /requires a login/);

  await helper.answer({ [authReg.host]: 'fail' });
  const failing = await shale(['build', app, '--push', `${authReg.host}/demo/helper:v3`], await env({ credsStore: helper.name }, path));
  assert.equal(failing.exitCode, 1, failing.stderr);
  assert.match(
    failing.stderr,
    new RegExp(
      `^error: credential helper docker-credential-${helper.name} \\(credsStore in .*config\\.json\\) failed \\(exit 3\\) getting credentials for ${authReg.host.replace(/\./g, '\\.')}: keychain is locked`,
      'm',
    ),
  );
  assert.doesNotMatch(failing.stderr, /\n\s+at /, 'no stack trace');

  const missing = await shale(['build', app, '--push', `${authReg.host}/demo/helper:v3`], await env({ credHelpers: { [authReg.host]: 'nonexistent' } }, path));
  assert.equal(missing.exitCode, 1, missing.stderr);
  assert.match(missing.stderr, /docker-credential-nonexistent .* is not installed or not on PATH/);
  assertNoSecret(out.digest + notFound.stderr + failing.stderr + missing.stderr);
});

test('CI credentials from SHALE_REGISTRY_USER/PASSWORD (scoped by SHALE_REGISTRY_HOST) and from REGISTRY_AUTH_FILE', async () => {
  const ref = `${authReg.host}/demo/env:v1`;
  const scoped = { SHALE_REGISTRY_USER: USER, SHALE_REGISTRY_PASSWORD: PASSWORD, SHALE_REGISTRY_HOST: authReg.host };
  const out = await shaleJson(['build', app, '--push', ref], await env({}, scoped));
  assert.equal((await skopeoInspect(ref, { creds })).Digest, out.digest);
  const elsewhere = await shale(['build', app, '--push', `${authReg.host}/demo/env:v2`], await env({}, { ...scoped, SHALE_REGISTRY_HOST: 'ghcr.io' }));
  assert.equal(elsewhere.exitCode, 1, 'credentials scoped to another host are not sent');
  assertNoSecret(elsewhere.stderr);

  const dir = await mkdtemp(join(tmpdir(), 'shale-auth-json-'));
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, JSON.stringify({ auths: { [`${authReg.host}/demo`]: { auth: basic(USER, PASSWORD) } } }));
  const viaAuthFile = await shaleJson(['build', app, '--push', `${authReg.host}/demo/env:v3`], await env({}, { REGISTRY_AUTH_FILE: authFile }));
  assert.equal(viaAuthFile.digest, out.digest);
});

test('TLS with a self-signed CA: refused without it, pushed with --registry-ca or SSL_CERT_FILE; history takes --registry-ca', async () => {
  const ca = tlsReg.caFile ?? assert.fail('the TLS registry has a CA file');
  const ref = `${tlsReg.host}/demo/tls:v1`;
  const untrusted = await shale(['build', app, '--push', ref], await env({}));
  assert.equal(untrusted.exitCode, 1, untrusted.stderr);
  assert.match(untrusted.stderr, /^error: cannot reach registry .*TLS certificate is not trusted.*--registry-ca FILE/m);

  const out = await shaleJson(['build', app, '--push', ref, '--registry-ca', ca], await env({}));
  assert.equal((await skopeoInspect(ref)).Digest, out.digest);
  const viaEnv = await shaleJson(['build', app, '--push', `${tlsReg.host}/demo/tls:v2`], await env({}, { SSL_CERT_FILE: ca }));
  assert.equal(viaEnv.digest, out.digest);
  // Every command that reads a registry takes the CA: `history` too.
  const history = await shale(['history', ref, '--json', '--registry-ca', ca], await env({}));
  assert.equal(history.exitCode, 0, history.stderr);
  assert.ok((JSON.parse(history.stdout) as { layers: unknown[] }).layers.length > 0);
  const historyUntrusted = await shale(['history', ref], await env({}));
  assert.equal(historyUntrusted.exitCode, 1, historyUntrusted.stderr);
  assert.match(historyUntrusted.stderr, /TLS certificate is not trusted/);

  const badCa = await shale(['build', app, '--push', ref, '--registry-ca', join(tmpdir(), 'no-such-ca.pem')], await env({}));
  assert.equal(badCa.exitCode, 2, badCa.stderr);
  assert.match(badCa.stderr, /--registry-ca .*no-such-ca\.pem: cannot read the file/);
});
