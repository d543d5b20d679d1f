/**
 * A dead IdP at /auth (src/upstreams/breaker.ts admit, asked by the oidc kind's begin()): the
 * discovery document is cached, so before this /auth kept sending people to an IdP known to be
 * down. Now, once the IdP's circuit is open (here: callbacks whose code exchange cannot reach
 * the token endpoint), /auth answers the branded 502 page with Retry-After at once; after the
 * cool-down the next /auth fetches the discovery document again as the half-open probe, and the
 * IdP being back closes the circuit and sign-ins go through.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, startService, type TestService } from '../helpers/service.js';
import { driveSignIn, replayCallback, startOidcProvider, type SignInResult, type TestProvider } from '../helpers/oidc-provider.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';
import { BREAKER_DEFAULTS } from '../../src/upstreams/breaker.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const SECRET = 'test-client-secret-0123456789';
const USER = { login: 'alice@contoso.com', password: 'pw-alice' };

let svc: TestService;
let idp: TestProvider | null = null;
let idpPort: number;
let issuer: string;

function startIdp(): Promise<TestProvider> {
  return startOidcProvider({
    port: idpPort,
    clients: [{ client_id: 'fb', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${svc.url}/callback/oidc`] }],
    users: [{ ...USER, claims: { email: USER.login } }],
  });
}

beforeAll(async () => {
  idpPort = await freePort();
  issuer = `http://127.0.0.1:${idpPort}`;
  svc = await startService({
    file: {
      server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
      tenants: [{ id: 'contoso', displayName: 'Contoso', domains: ['contoso.com'], idp: { kind: 'oidc', issuer, clientId: 'fb', clientSecret: SECRET, timeoutMs: 3000 } }],
    },
  });
  idp = await startIdp();
});
afterAll(async () => {
  await idp?.close();
  await svc?.close();
});

const authUrl = () => `${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: USER.login })}`;
const signIn = (stopAtCallback = false): Promise<SignInResult> => driveSignIn(svc.url, authUrl(), { ...USER, stopAtCallback });

it('the IdP killed: once its circuit opens, /auth fails fast with the branded page and Retry-After; after the probe succeeds it recovers', async () => {
  expect((await signIn()).token).toBeTruthy(); // discovery is cached from here on
  const held: SignInResult['callback'][] = [];
  for (let i = 0; i < BREAKER_DEFAULTS.failures; i++) held.push((await signIn(true)).callback);

  await idp!.close();
  idp = null;
  // The callbacks of windows that were at the IdP: each code exchange fails to connect.
  for (const cb of held) {
    const res = await replayCallback(cb);
    expectErrorPage(res, await res.text(), 502, 'upstream_unreachable');
  }
  expect(svc.service.breakers.state(issuer)).toBe('open');

  // /auth no longer redirects to the dead IdP: the branded page, Retry-After, and the page says when.
  const fast = await fetch(authUrl(), { redirect: 'manual' });
  const html = await fast.text();
  expectErrorPage(fast, html, 502, 'upstream_unreachable');
  expect(fast.headers.get('location')).toBeNull();
  const retryAfter = Number(fast.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(BREAKER_DEFAULTS.coolDownMs / 1000);
  expect(html).toContain(retryAfter === 1 ? 'You can try again in 1 second.' : `You can try again in ${retryAfter} seconds.`);

  // The IdP comes back; until the cool-down ends /auth still refuses without trying it.
  idp = await startIdp();
  const stillOpen = await fetch(authUrl(), { redirect: 'manual' });
  await stillOpen.text();
  expect(stillOpen.status).toBe(502);

  // After the cool-down, the next /auth is the probe (discovery fetched again): it answers, the circuit closes.
  await new Promise((r) => setTimeout(r, retryAfter * 1000 + 200));
  expect(svc.service.breakers.state(issuer)).toBe('half-open');
  const back = await fetch(authUrl(), { redirect: 'manual' });
  await back.text();
  expect(back.status).toBe(302);
  expect(back.headers.get('location')).toMatch(new RegExp(`^${issuer}/`));
  expect(svc.service.breakers.state(issuer)).toBe('closed');
  expect((await signIn()).token).toBeTruthy();
}, 120_000);
