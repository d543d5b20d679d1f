/**
 * ID token validation: every bad token from the provider ends on a branded error page and
 * never on a wresult form. The provider is scripted, so each test signs the token it needs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { TestService } from '../../helpers/service.js';
import { ScriptedIdp, TID_A, newKey } from './scripted-idp.js';
import { CLIENT_SECRET, signInAs, startWithTenants } from './setup.js';
import { expectErrorPage } from './expect.js';
import { UNKNOWN_KEY_COOLDOWN_MS } from '../../../src/upstreams/oidc/discovery.js';

let idp: ScriptedIdp;
let svc: TestService;

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  svc = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
});
afterEach(() => idp.reset());
afterAll(async () => {
  await svc?.close();
  await idp?.close();
});

const USER = 'user@contoso.com';
const nowSec = () => Math.floor(Date.now() / 1000);

describe('a well-formed ID token', () => {
  it('signs in; the Entra subject is oid+tid, not the pairwise sub', async () => {
    const r = await signInAs(svc, USER);
    expect(r.res.status).toBe(200);
    const claims = decodeJwt(r.token!);
    expect(claims).toMatchObject({ upn: USER, name: 'Contoso User', amr: ['pwd'], idp: { kind: 'oidc', id: 'contoso-oidc' } });

    // Same oid and tid, another pairwise sub (a new app registration): same Fedbridge subject.
    idp.next = { claims: { sub: 'pairwise-sub-2' } };
    const again = decodeJwt((await signInAs(svc, USER)).token!);
    expect(again.sub).toBe(claims.sub);
  });
});

describe('bad ID tokens', () => {
  const cases: Array<[string, () => Promise<void> | void]> = [
    ['wrong iss', () => void (idp.next = { claims: { iss: 'https://login.example.net/other/v2.0' } })],
    ['wrong aud', () => void (idp.next = { claims: { aud: 'someone-else' } })],
    ['expired', () => void (idp.next = { claims: { iat: nowSec() - 7200, exp: nowSec() - 3600 } })],
    ['not yet valid (nbf in the future)', () => void (idp.next = { claims: { nbf: nowSec() + 3600 } })],
    ['nonce mismatch', () => void (idp.next = { claims: { nonce: 'another-sign-in' } })],
    ['no nonce', () => void (idp.next = { claims: { nonce: undefined } })],
    ['alg none', () => void (idp.next = { alg: 'none' })],
    ['HS256 with the client secret (alg confusion)', () => void (idp.next = { alg: 'HS256' })],
    [
      'bad signature (right kid, wrong key)',
      async () => {
        idp.next = { key: { ...(await newKey(idp.key.kid)) } };
      },
    ],
  ];

  it.each(cases)('%s → upstream_invalid_token', async (_name, script) => {
    await script();
    const r = await signInAs(svc, USER);
    expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
  });

  it.each(['none', 'HS256'] as const)('alg %s is refused even when the discovery document advertises it', async (alg) => {
    idp.discoveryExtra = { id_token_signing_alg_values_supported: ['RS256', 'HS256', 'none'] };
    const own = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
    try {
      idp.next = { alg };
      const r = await signInAs(own, USER);
      expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
    } finally {
      await own.close();
    }
  });

  it('a token without any user name claim → upstream_missing_claim', async () => {
    idp.next = { claims: { preferred_username: undefined } };
    const r = await signInAs(svc, USER);
    expectErrorPage(r.res, r.html, 502, 'upstream_missing_claim');
  });
});

describe('provider keys', () => {
  it('a rotated provider key: rediscover, fetch the new JWKS, accept', async () => {
    svc.clock.advance(UNKNOWN_KEY_COOLDOWN_MS);
    expect((await signInAs(svc, USER)).token).toBeTruthy(); // JWKS cached with key-1
    await idp.rotateKey();
    const before = idp.discoveryRequests;
    const r = await signInAs(svc, USER);
    expect(r.token).toBeTruthy();
    expect(idp.discoveryRequests).toBe(before + 1);
  });

  it('a kid nobody publishes is refused, and does not make us refetch again within the cooldown', async () => {
    svc.clock.advance(UNKNOWN_KEY_COOLDOWN_MS);
    const rogue = await newKey('rogue');
    idp.next = { key: rogue };
    const before = idp.discoveryRequests;
    expectErrorPage(...(await page(signInAs(svc, USER))), 502, 'upstream_invalid_token');
    idp.next = { key: rogue };
    expectErrorPage(...(await page(signInAs(svc, USER))), 502, 'upstream_invalid_token');
    expect(idp.discoveryRequests).toBe(before + 1);
  });
});

describe('provider errors', () => {
  it('error=server_error on the callback → upstream_error', async () => {
    idp.nextError = 'server_error';
    const r = await signInAs(svc, USER);
    expectErrorPage(r.res, r.html, 502, 'upstream_error');
    expect(r.html).not.toContain('<b>refusal</b>');
  });

  it('error=access_denied → upstream_denied with the reason', async () => {
    idp.nextError = 'access_denied';
    const r = await signInAs(svc, USER);
    expectErrorPage(r.res, r.html, 403, 'upstream_denied');
    expect(r.html).toContain('(access_denied)');
  });

  it('a callback without code or error → invalid_request', async () => {
    const start = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: 'ms-app://x', login_hint: USER })}`, { redirect: 'manual' });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const res = await fetch(`${svc.url}/callback/oidc?state=${state}`);
    expectErrorPage(res, await res.text(), 400, 'invalid_request');
  });
});

async function page(p: ReturnType<typeof signInAs>): Promise<[Response, string]> {
  const r = await p;
  return [r.res, r.html];
}
