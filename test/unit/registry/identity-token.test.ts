import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShaleError } from '../../../src/errors.js';
import type { ShaleEvent } from '../../../src/events.js';
import { MediaType } from '../../../src/oci/types.js';
import { FakeRegistry } from '../support/fake-registry.js';
import { testClient } from './fixture.js';

// ACR's `az acr login` (and Docker's OAuth logins) store an OAuth2 refresh token as `identitytoken`;
// the user is a fixed GUID. distribution's token spec (oauth.md): POST grant_type=refresh_token to
// the realm; token services without that endpoint answer 404/405, then GET with Basic works.
const ACR_USER = '00000000-0000-0000-0000-000000000000';
const REFRESH = 'rt-3f9c-very-secret-refresh-token';
const acrEntry = { auth: Buffer.from(`${ACR_USER}:`).toString('base64'), identitytoken: REFRESH };

async function withAcr(
  oauthPost: 'ok' | 404 | 405,
  token: string,
  fn: (reg: FakeRegistry, client: Awaited<ReturnType<typeof testClient>>['client'], events: ShaleEvent[]) => Promise<void>,
): Promise<void> {
  const reg = await FakeRegistry.start({ kind: 'bearer', users: {}, identityTokens: { [REFRESH]: ACR_USER }, oauthPost });
  const events: ShaleEvent[] = [];
  const t = await testClient({ auths: { [reg.host]: { ...acrEntry, identitytoken: token } }, options: { events: (e) => events.push(e) } });
  try {
    reg.putManifest('demo/app', Buffer.from('{"acr":1}'), MediaType.OciManifest, 'v1');
    await fn(reg, t.client, events);
  } finally {
    await t.cleanup();
    await reg.close();
  }
}

describe('identity (refresh) tokens', () => {
  it('exchanges the refresh token by OAuth2 POST: grant_type, service, scope, client_id', async () => {
    await withAcr('ok', REFRESH, async (reg, client) => {
      await client.getManifest(reg.host, 'demo/app', 'v1');
      assert.deepEqual(reg.tokenRequests, [
        {
          method: 'POST',
          scopes: ['repository:demo/app:pull'],
          user: ACR_USER,
          form: { grant_type: 'refresh_token', service: 'fake-registry', client_id: 'shale' },
        },
      ]);
      assert.match(reg.requests('GET', /manifests/).at(-1)?.authorization ?? '', /^Bearer /);
    });
  });

  for (const refusal of [404, 405] as const) {
    it(`falls back to GET with Basic when the POST is answered ${refusal}`, async () => {
      await withAcr(refusal, REFRESH, async (reg, client) => {
        await client.getManifest(reg.host, 'demo/app', 'v1');
        assert.deepEqual(
          reg.tokenRequests.map((t) => [t.method, t.user]),
          [['GET', ACR_USER]],
        );
        assert.equal(reg.requests('POST', /^\/token$/).length, 1, 'tried POST first');
        assert.equal(reg.requests('GET', /^\/token$/)[0]?.authorization, `Basic ${Buffer.from(`${ACR_USER}:${REFRESH}`).toString('base64')}`);
      });
    });
  }

  it('a refused identity token is an error that says to log in again, never the token, in errors or events', async () => {
    const stale = 'rt-expired-0b1c-also-secret';
    await withAcr('ok', stale, async (reg, client, events) => {
      await assert.rejects(client.getManifest(reg.host, 'demo/app', 'v1'), (err: unknown) => {
        assert.ok(err instanceof ShaleError);
        assert.equal(err.code, 'SHALE_REGISTRY_UNAUTHORIZED');
        assert.match(err.message, new RegExp(`refused the identity token for user '${ACR_USER}' .*az acr login`));
        assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes(stale));
        return true;
      });
      assert.deepEqual(
        reg.tokenRequests.map((t) => [t.method, t.user]),
        [['POST', '<refused>']],
        'a 401 to the POST is an answer, not a reason to fall back',
      );
      assert.ok(events.length > 0);
      assert.ok(!JSON.stringify(events).includes(stale), 'no event carries the token');
      assert.ok(!JSON.stringify(events).includes(REFRESH));
    });
  });
});
