/**
 * Entra ID multi-tenant endpoints: the discovery document's issuer is the template
 * `…/{tenantid}/v2.0`; a token is accepted only when its iss is the template filled with its
 * own tid, and that tid is in allowedTenantIds.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { TestService } from '../../helpers/service.js';
import { ScriptedIdp, TID_A, TID_B } from './scripted-idp.js';
import { CLIENT_SECRET, signInAs, startWithTenants } from './setup.js';
import { expectErrorPage } from './expect.js';

let idp: ScriptedIdp;
let svc: TestService;

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  svc = await startWithTenants([
    // As the Entra docs write it…
    { id: 'orgs', domain: 'contoso.com', issuer: `${idp.url}/organizations/v2.0`, idp: { allowedTenantIds: [TID_A] } },
    // …or as the template itself (the discovery document is then read at …/organizations/v2.0).
    { id: 'tmpl', domain: 'fabrikam.com', issuer: `${idp.url}/{tenantid}/v2.0`, idp: { allowedTenantIds: [TID_A.toUpperCase()] } },
    // Single-tenant with an allow-list: the tid is checked too.
    { id: 'single', domain: 'litware.com', issuer: idp.issuerOf(TID_A), idp: { allowedTenantIds: [TID_A] } },
  ]);
});
afterEach(() => idp.reset());
afterAll(async () => {
  await svc?.close();
  await idp?.close();
});

describe.each([
  ['organizations issuer', 'user@contoso.com'],
  ['{tenantid} issuer', 'user@fabrikam.com'],
])('multi-tenant (%s)', (_name, user) => {
  it('an allowed directory signs in', async () => {
    idp.user.preferred_username = user;
    const r = await signInAs(svc, user);
    expect(r.res.status).toBe(200);
    expect(decodeJwt(r.token!)).toMatchObject({ upn: user, idp: { kind: 'oidc' } });
    expect(r.authorizeUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize');
  });

  it('another directory (its own valid issuer) is refused: tenant_not_allowed', async () => {
    idp.user = { ...idp.user, tid: TID_B, preferred_username: user };
    const r = await signInAs(svc, user);
    expectErrorPage(r.res, r.html, 403, 'tenant_not_allowed');
  });

  it('an allowed tid with the issuer of another directory is refused: upstream_invalid_token', async () => {
    idp.user.preferred_username = user;
    idp.next = { claims: { tid: TID_A, iss: idp.issuerOf(TID_B) } };
    const r = await signInAs(svc, user);
    expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
  });

  it('a token without tid is refused', async () => {
    idp.user.preferred_username = user;
    idp.next = { claims: { tid: undefined, iss: idp.issuerOf(TID_A) } };
    const r = await signInAs(svc, user);
    expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
  });

  it('a token whose iss is the template itself is refused', async () => {
    idp.user.preferred_username = user;
    idp.next = { claims: { iss: `${idp.url}/{tenantid}/v2.0` } };
    const r = await signInAs(svc, user);
    expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
  });
});

describe('RFC 9207 iss callback parameter on a multi-tenant issuer', () => {
  it("is checked against the issuer of the token's tid: right one passes", async () => {
    idp.sendIssParam = true;
    const r = await signInAs(svc, 'user@contoso.com');
    expect(r.callback.url).toContain('iss=');
    expect(r.token).toBeTruthy();
  });

  it('wrong one is refused', async () => {
    idp.sendIssParam = idp.issuerOf(TID_B);
    const r = await signInAs(svc, 'user@contoso.com');
    expectErrorPage(r.res, r.html, 502, 'upstream_invalid_token');
  });
});

describe('single-tenant issuer with allowedTenantIds', () => {
  it('accepts the listed tid', async () => {
    idp.user.preferred_username = 'user@litware.com';
    expect((await signInAs(svc, 'user@litware.com')).token).toBeTruthy();
  });

  it('refuses another tid even under the right issuer', async () => {
    idp.user.preferred_username = 'user@litware.com';
    idp.next = { claims: { tid: TID_B, iss: idp.issuerOf(TID_A) } };
    const r = await signInAs(svc, 'user@litware.com');
    expectErrorPage(r.res, r.html, 403, 'tenant_not_allowed');
  });
});

describe('a multi-tenant issuer without allowedTenantIds', () => {
  it('is refused at start-up when written as the common or organizations discovery path', async () => {
    await expect(startWithTenants([{ id: 'open', domain: 'open.example', issuer: `${idp.url}/common/v2.0` }])).rejects.toThrow(/allowedTenantIds/);
  });

  it('is refused at start-up when written as the template', async () => {
    await expect(startWithTenants([{ id: 'open', domain: 'open.example', issuer: `${idp.url}/{tenantid}/v2.0` }])).rejects.toThrow(/allowedTenantIds/);
  });
});
