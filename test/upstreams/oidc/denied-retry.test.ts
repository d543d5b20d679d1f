/**
 * upstream_denied pages say when to try again exactly when a new sign-in can get past the refusal
 * (src/upstreams/oidc/errors.ts): the IdP's session or interaction ended mid-flow (login_required,
 * interaction_required) or the code was lost or expired (invalid_grant at the token endpoint, as an
 * IdP shedding state under load answers). A person's "no" (access_denied) carries no Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestService } from '../../helpers/service.js';
import { ScriptedIdp, TID_A } from './scripted-idp.js';
import { CLIENT_SECRET, signInAs, startWithTenants } from './setup.js';
import { expectErrorPage } from './expect.js';

let idp: ScriptedIdp;
let svc: TestService;
let lostCodes: TestService;
let token: Server;

beforeAll(async () => {
  idp = await ScriptedIdp.start({ 'fedbridge-client': CLIENT_SECRET });
  svc = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
  // A token endpoint that has lost every code (as an IdP evicting state under load).
  token = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant","error_description":"grant request is invalid"}'));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => token.once('listening', r));
  idp.discoveryExtra = { token_endpoint: `http://127.0.0.1:${(token.address() as AddressInfo).port}/token` };
  lostCodes = await startWithTenants([{ id: 'contoso', domain: 'contoso.com', issuer: idp.issuerOf(TID_A) }]);
  // Discovery is fetched on first use: get it now, then the other service's next discovery is normal again.
  await signInAs(lostCodes, 'user@contoso.com');
  idp.discoveryExtra = {};
});
afterAll(async () => {
  await svc?.close();
  await lostCodes?.close();
  await idp?.close();
  token?.close();
});

describe('upstream_denied and Retry-After', () => {
  it.each(['login_required', 'interaction_required'])('error=%s on the callback: 403 with Retry-After and the page says when', async (error) => {
    idp.nextError = error;
    const r = await signInAs(svc, 'user@contoso.com');
    expectErrorPage(r.res, r.html, 403, 'upstream_denied');
    expect(r.res.headers.get('retry-after')).toBe('5');
    expect(r.html).toContain('You can try again in 5 seconds.');
  });

  it.each(['access_denied', 'consent_required'])('error=%s (someone said no): no Retry-After', async (error) => {
    idp.nextError = error;
    const r = await signInAs(svc, 'user@contoso.com');
    expectErrorPage(r.res, r.html, 403, 'upstream_denied');
    expect(r.res.headers.get('retry-after')).toBeNull();
    expect(r.html).not.toContain('You can try again in');
  });

  it('invalid_grant from the token endpoint (the code was lost): 400 with Retry-After', async () => {
    const r = await signInAs(lostCodes, 'user@contoso.com');
    expectErrorPage(r.res, r.html, 400, 'upstream_denied');
    expect(r.html).toContain('(invalid_grant)');
    expect(r.res.headers.get('retry-after')).toBe('5');
  });
});
