/** What Fedbridge sends the window to: the authorization request each tenant's settings produce. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../../helpers/service.js';
import { decodeEntities, hiddenValue } from '../../helpers/html.js';
import { ScriptedIdp, TID_A } from './scripted-idp.js';
import { APPRU, CLIENT_ID, CLIENT_SECRET, startWithTenants } from './setup.js';

let idp: ScriptedIdp;
let svc: TestService;

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  const issuer = idp.issuerOf(TID_A);
  svc = await startWithTenants([
    { id: 'entra', domain: 'contoso.com', issuer, idp: { domainHint: 'contoso.com', prompt: 'select_account', scopes: ['profile', 'email'] } },
    { id: 'mfa', domain: 'fabrikam.com', issuer, idp: { acrValues: 'urn:test:mfa', mfaAcr: 'urn:test:mfa' }, policy: { requireMfa: true } },
    { id: 'nomfa', domain: 'litware.com', issuer, idp: { acrValues: 'urn:test:mfa', mfaAcr: 'urn:test:mfa', responseMode: 'form_post' } },
  ]);
});
afterAll(async () => {
  await svc?.close();
  await idp?.close();
});

async function authorize(hint: string): Promise<Record<string, string>> {
  const res = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return Object.fromEntries(new URL(res.headers.get('location')!).searchParams);
}

describe('authorization request', () => {
  it('code flow, PKCE S256, nonce, state = the transaction key, hints and prompt', async () => {
    const q = await authorize('user@contoso.com');
    expect(q).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: `${svc.url}/callback/oidc`,
      scope: 'openid profile email',
      code_challenge_method: 'S256',
      login_hint: 'user@contoso.com',
      domain_hint: 'contoso.com',
      prompt: 'select_account',
    });
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.nonce.length).toBeGreaterThanOrEqual(32);
    expect(q).not.toHaveProperty('response_mode');
    expect(q).not.toHaveProperty('acr_values');
    const tx = await svc.service.deps.store.getTransaction(q.state, svc.clock.now());
    expect(tx?.tenantId).toBe('entra');
    expect(tx?.upstream.nonce).toBe(q.nonce);
    expect(tx?.upstream.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(tx?.upstream.codeVerifier).not.toBe(q.code_challenge);
  });

  it('asks for MFA (acr_values and an essential acr claims request) when the policy requires it', async () => {
    const q = await authorize('user@fabrikam.com');
    expect(q.acr_values).toBe('urn:test:mfa');
    expect(JSON.parse(q.claims)).toEqual({
      id_token: { acr: { essential: true, values: ['urn:test:mfa'] }, acrs: { essential: true, value: 'urn:test:mfa' } },
    });
  });

  it('does not when the policy does not; form_post when configured', async () => {
    const q = await authorize('user@litware.com');
    expect(q).not.toHaveProperty('acr_values');
    expect(q).not.toHaveProperty('claims');
    expect(q.response_mode).toBe('form_post');
  });

  it('forwards the email typed on the email page as login_hint (redirect page after the form)', async () => {
    const first = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU })}`);
    const state = hiddenValue(await first.text(), 'state')!;
    const res = await fetch(`${svc.url}/auth/email`, { method: 'POST', body: new URLSearchParams({ state, email: 'typed@contoso.com' }) });
    const html = await res.text();
    const url = new URL(decodeEntities(/http-equiv="refresh" content="0;url=([^"]*)"/.exec(html)![1]));
    expect(url.origin).toBe(idp.url);
    expect(url.searchParams.get('login_hint')).toBe('typed@contoso.com');
    expect(url.searchParams.get('state')).toBe(state);
  });
});
