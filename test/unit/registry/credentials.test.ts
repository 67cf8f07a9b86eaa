import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import { CredentialStore } from '../../../src/registry/credentials.js';

describe('CredentialStore', () => {
  let dir: string;
  const prevPath = process.env['PATH'];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shale-creds-'));
    // A helper that knows one server, says "not found" for others, and fails for "broken.example".
    await writeFile(
      join(dir, 'docker-credential-t'),
      `#!/bin/sh
read server
case "$server" in
  https://index.docker.io/v1/) echo '{"Username":"<token>","Secret":"refresh-abc"}' ;;
  reg.example) echo '{"Username":"helper-user","Secret":"helper-secret"}' ;;
  broken.example) echo 'keychain exploded' >&2; exit 4 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`,
    );
    await chmod(join(dir, 'docker-credential-t'), 0o755);
    process.env['PATH'] = `${dir}:${prevPath ?? ''}`;
  });
  after(async () => {
    process.env['PATH'] = prevPath;
    await rm(dir, { recursive: true, force: true });
  });
  const store = async (config: unknown, env: NodeJS.ProcessEnv = {}): Promise<CredentialStore> => {
    const p = join(dir, `config-${Math.random()}.json`);
    await writeFile(p, JSON.stringify(config));
    return new CredentialStore({ dockerConfigPath: p, env });
  };

  it('asks credHelpers per host first, Docker Hub by its config key; identity tokens from helpers', async () => {
    const s = await store({ credHelpers: { 'reg.example': 't', 'index.docker.io': 't' }, auths: { 'reg.example': { username: 'u', password: 'p' } } });
    assert.deepEqual(await s.get('reg.example'), { username: 'helper-user', password: 'helper-secret', source: 'credential helper docker-credential-t' });
    assert.deepEqual(await s.get('docker.io'), { username: '<token>', identityToken: 'refresh-abc', source: 'credential helper docker-credential-t' });
  });
  it('treats "not found" as no credentials and falls back to auths for credsStore', async () => {
    const s = await store({ credsStore: 't', auths: { 'other.example': { auth: Buffer.from('a:b').toString('base64') } } });
    assert.equal(await s.get('nothing.example'), undefined);
    assert.equal((await s.get('other.example'))?.password, 'b');
  });
  it('reports a failing helper by name and exit status, without stdout', async () => {
    const s = await store({ credsStore: 't' });
    await assert.rejects(
      s.get('broken.example'),
      (err: unknown) =>
        err instanceof ShaleError && err.code === 'SHALE_CREDENTIAL_HELPER' && /docker-credential-t .*failed \(exit 4\).*keychain exploded/.test(err.message),
    );
  });
  it('takes SHALE_REGISTRY_USER/PASSWORD first, only for SHALE_REGISTRY_HOST when set; then REGISTRY_AUTH_FILE', async () => {
    const authFile = join(dir, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { 'quay.example/org': { auth: Buffer.from('q:w').toString('base64') } } }));
    const env = { SHALE_REGISTRY_USER: 'ci', SHALE_REGISTRY_PASSWORD: 'pw', SHALE_REGISTRY_HOST: 'ghcr.io', REGISTRY_AUTH_FILE: authFile };
    const s = await store({}, env);
    assert.equal((await s.get('ghcr.io'))?.username, 'ci');
    assert.equal((await s.get('quay.example'))?.username, 'q');
    assert.equal(await s.get('elsewhere.example'), undefined);
  });
  it("reads auths keyed as Docker writes them: Docker Hub's URL, https:// prefixes, username/password", async () => {
    const s = await store({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpw').toString('base64') },
        'https://reg.example:5000': { username: 'u', password: 'p' },
      },
    });
    const hub = await s.get('docker.io');
    assert.deepEqual([hub?.username, hub?.password], ['hubuser', 'hubpw']);
    assert.match(hub?.source ?? '', /auths\["https:\/\/index\.docker\.io\/v1\/"\]$/);
    assert.equal((await s.get('reg.example:5000'))?.password, 'p');
  });
  it("reads containers' auth.json under XDG_RUNTIME_DIR after config.json, but not when REGISTRY_AUTH_FILE is set", async () => {
    const runtime = join(dir, 'runtime');
    await mkdir(join(runtime, 'containers'), { recursive: true });
    await writeFile(
      join(runtime, 'containers', 'auth.json'),
      JSON.stringify({
        auths: { 'podman.example': { auth: Buffer.from('pod:man').toString('base64') }, 'both.example': { auth: Buffer.from('xdg:x').toString('base64') } },
      }),
    );
    const s = await store({ auths: { 'both.example': { username: 'docker', password: 'd' } } }, { XDG_RUNTIME_DIR: runtime });
    assert.equal((await s.get('podman.example'))?.username, 'pod');
    assert.match((await s.get('podman.example'))?.source ?? '', /containers\/auth\.json/);
    assert.equal((await s.get('both.example'))?.username, 'docker', 'config.json first');
    const other = join(dir, 'other-auth.json');
    await writeFile(other, '{}');
    const s2 = await store({}, { XDG_RUNTIME_DIR: runtime, REGISTRY_AUTH_FILE: other });
    assert.equal(await s2.get('podman.example'), undefined);
  });
  it('reads ACR-style identity tokens from auths', async () => {
    const s = await store({
      auths: { 'x.azurecr.io': { auth: Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64'), identitytoken: 'rt' } },
    });
    const c = await s.get('x.azurecr.io');
    assert.equal(c?.username, '00000000-0000-0000-0000-000000000000');
    assert.equal(c?.identityToken, 'rt');
    assert.equal(c?.password, undefined);
  });
});
