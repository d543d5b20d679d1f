/**
 * The oidc upstream against a real OpenID provider (node-oidc-provider on 127.0.0.1), driven
 * over HTTP the way the device window would: /auth → provider pages → /callback/oidc →
 * the wresult page, whose token must verify against Fedbridge's JWKS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { startService, freePort, type TestService } from '../helpers/service.js';
import { driveSignIn, replayCallback, startOidcProvider, type DriveOptions, type TestProvider } from '../helpers/oidc-provider.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const SECRET = 'test-client-secret-0123456789';
const TID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

let svc: TestService;
let idp: TestProvider;

function tenant(id: string, domain: string, idp: Record<string, unknown>, policy: Record<string, unknown> = {}) {
  return { id, displayName: id, domains: [domain], policy, idp: { kind: 'oidc', issuer: '{{ISSUER}}', scopes: ['openid', 'profile', 'email'], ...idp } };
}

beforeAll(async () => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const basic = { clientId: 'fb-basic', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_basic' };
  const file = {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
    tenants: [
      tenant('contoso', 'contoso.com', basic),
      tenant('fabrikam', 'fabrikam.com', { clientId: 'fb-post', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_post', responseMode: 'form_post' }),
      tenant('litware', 'litware.com', { clientId: 'fb-pkjwt', tokenEndpointAuthMethod: 'private_key_jwt' }),
      tenant('mfa', 'mfa.example', basic, { requireMfa: true }),
      tenant('groups', 'groups.example', basic, { allowedGroups: ['g-enroll'] }),
      tenant('acr', 'acr.example', { ...basic, mfaAcr: 'urn:test:strong' }, { requireMfa: true }),
    ],
  };
  svc = await startService({ file: JSON.parse(JSON.stringify(file).replaceAll('{{ISSUER}}', issuer)) });
  const redirect_uris = [`${svc.url}/callback/oidc`];
  const overage = { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } } };
  idp = await startOidcProvider({
    port: idpPort,
    clients: [
      { client_id: 'fb-basic', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris },
      { client_id: 'fb-post', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post', redirect_uris },
      // Registered with Fedbridge's published JWKS, as the docs tell admins to.
      { client_id: 'fb-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${svc.url}/.well-known/jwks.json`, redirect_uris },
    ],
    users: [
      { login: 'alice@contoso.com', password: 'pw-alice', claims: { tid: TID, oid: 'oid-alice', email: 'alice@contoso.com', groups: ['g-enroll'] } },
      { login: 'grace@contoso.com', password: 'pw-grace', claims: { tid: TID, oid: 'oid-grace', ...overage } },
      { login: 'bob@fabrikam.com', password: 'pw-bob' },
      { login: 'carol@litware.com', password: 'pw-carol' },
      { login: 'dave@mfa.example', password: 'pw-dave', mfaCode: '424242' },
      { login: 'erin@mfa.example', password: 'pw-erin' },
      { login: 'ivan@acr.example', password: 'pw-ivan', acr: 'urn:test:strong' },
      { login: 'judy@acr.example', password: 'pw-judy' },
      { login: 'frank@groups.example', password: 'pw-frank', claims: overage },
      { login: 'heidi@groups.example', password: 'pw-heidi', claims: { groups: ['g-other', 'g-enroll'] } },
    ],
  });
});
afterAll(async () => {
  await idp?.close();
  await svc?.close();
});

function authUrl(hint: string): string {
  return `${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: hint })}`;
}

async function signIn(o: DriveOptions & { hint?: string }) {
  return driveSignIn(svc.url, authUrl(o.hint ?? o.login), o);
}

async function verified(token: string | null): Promise<JWTPayload> {
  expect(token).toBeTruthy();
  const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(token!, jwks, { issuer: svc.url, audience: 'urn:fedbridge:mdm' });
  return payload;
}

describe('oidc sign-in against oidc-provider', () => {
  it('client_secret_basic: authorization request, callback, verified token with the upstream user as upn', async () => {
    const r = await signIn({ login: 'alice@contoso.com', password: 'pw-alice' });
    expect(r.res.status).toBe(200);
    const q = r.authorizeUrl.searchParams;
    expect(r.authorizeUrl.origin).toBe(idp.issuer);
    expect(Object.fromEntries(q)).toMatchObject({
      client_id: 'fb-basic',
      response_type: 'code',
      redirect_uri: `${svc.url}/callback/oidc`,
      scope: 'openid profile email',
      code_challenge_method: 'S256',
      login_hint: 'alice@contoso.com',
    });
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(q.get('nonce')).toBeTruthy();
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.callback.method).toBe('GET');

    const payload = await verified(r.token);
    expect(payload).toMatchObject({
      upn: 'alice@contoso.com',
      email: 'alice@contoso.com',
      name: 'User alice@contoso.com',
      tid: 'contoso',
      idp: { kind: 'oidc', id: 'contoso-oidc' },
      amr: ['pwd'],
      login_hint: 'alice@contoso.com',
    });
    expect(JSON.stringify(payload)).not.toContain(SECRET);
    expect(JSON.stringify(payload)).not.toContain('oid-alice');
  });

  it('client_secret_post with response_mode=form_post (the provider POSTs the callback)', async () => {
    const r = await signIn({ login: 'bob@fabrikam.com', password: 'pw-bob' });
    expect(r.authorizeUrl.searchParams.get('response_mode')).toBe('form_post');
    expect(r.callback.method).toBe('POST');
    expect((await verified(r.token)).upn).toBe('bob@fabrikam.com');
  });

  it('private_key_jwt with the service signing key (the provider reads Fedbridge JWKS)', async () => {
    const r = await signIn({ login: 'carol@litware.com', password: 'pw-carol' });
    expect((await verified(r.token)).upn).toBe('carol@litware.com');
  });

  it('a cancelled sign-in (error=access_denied) ends on the upstream_denied page', async () => {
    const r = await signIn({ login: 'alice@contoso.com', password: '', cancel: true });
    expect(r.callback.url).toContain('error=access_denied');
    expectErrorPage(r.res, r.html, 403, 'upstream_denied');
    expect(r.html).toContain('access_denied');
  });

  it('a callback replayed after success (same state, same code) gets an error page', async () => {
    const first = await signIn({ login: 'alice@contoso.com', password: 'pw-alice' });
    await verified(first.token);
    const again = await replayCallback(first.callback);
    expectErrorPage(again, await again.text(), 400, 'unknown_state');
  });

  it('a forged state gets an error page and never reaches the provider', async () => {
    const res = await fetch(`${svc.url}/callback/oidc?code=forged-code&state=${'A'.repeat(32)}`);
    expectErrorPage(res, await res.text(), 400, 'unknown_state');
  });

  it('a code already redeemed at the provider is refused there (invalid_grant): error page', async () => {
    // Stop at the callback, spend the code first (as a thief holding code and verifier would), then deliver it.
    const r = await signIn({ login: 'alice@contoso.com', password: 'pw-alice', stopAtCallback: true });
    const cb = new URL(r.callback.url);
    const tx = await svc.service.deps.store.getTransaction(cb.searchParams.get('state')!, svc.clock.now());
    const stolen = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`fb-basic:${SECRET}`).toString('base64')}` },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: cb.searchParams.get('code')!,
        code_verifier: tx!.upstream.codeVerifier,
        redirect_uri: `${svc.url}/callback/oidc`,
      }),
    });
    expect(stolen.status).toBe(200);
    const res = await replayCallback(r.callback);
    expectErrorPage(res, await res.text(), 400, 'upstream_denied');
  });

  describe('MFA policy', () => {
    it('passes when the provider reports amr mfa', async () => {
      const r = await signIn({ login: 'dave@mfa.example', password: 'pw-dave', mfaCode: '424242' });
      expect((await verified(r.token)).amr).toEqual(['pwd', 'mfa']);
    });

    it('refuses a password-only sign-in with the mfa_required page', async () => {
      const r = await signIn({ login: 'erin@mfa.example', password: 'pw-erin' });
      expectErrorPage(r.res, r.html, 403, 'mfa_required');
    });

    it('passes on the configured mfaAcr without amr mfa (the token then says mfa), and asks the provider for it', async () => {
      const r = await signIn({ login: 'ivan@acr.example', password: 'pw-ivan' });
      expect(JSON.parse(r.authorizeUrl.searchParams.get('claims')!).id_token.acr.values).toEqual(['urn:test:strong']);
      // The oidc kind turns the configured acr into amr `mfa` (the policy reads amr only).
      expect((await verified(r.token)).amr).toEqual(['pwd', 'mfa']);
      const other = await signIn({ login: 'judy@acr.example', password: 'pw-judy' });
      expectErrorPage(other.res, other.html, 403, 'mfa_required');
    });
  });

  describe('groups overage (_claim_names.groups)', () => {
    it('signs in when the tenant has no group policy', async () => {
      const r = await signIn({ login: 'grace@contoso.com', password: 'pw-grace' });
      expect((await verified(r.token)).upn).toBe('grace@contoso.com');
    });

    it('ends on groups_unavailable when the tenant allows only some groups', async () => {
      const r = await signIn({ login: 'frank@groups.example', password: 'pw-frank' });
      expectErrorPage(r.res, r.html, 403, 'groups_unavailable');
    });

    it('a member of an allowed group signs in', async () => {
      const r = await signIn({ login: 'heidi@groups.example', password: 'pw-heidi' });
      expect((await verified(r.token)).upn).toBe('heidi@groups.example');
    });
  });
});
