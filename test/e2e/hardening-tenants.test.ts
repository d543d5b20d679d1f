/**
 * Tenants are bound (issue #7, finding 2; README "The sign-in flow"), against a real service over HTTP:
 *  (a) a transaction whose organization is known (fixed by /t/:tenant/auth, found from
 *      login_hint, or from an invitation) cannot be moved to another one by posting /auth/email;
 *  (b) the signed-in UPN's domain must be one of the tenant's domains, for every upstream
 *      kind (local here, a real OpenID provider below), unless policy.allowForeignDomains.
 */
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { pino } from 'pino';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { invitationIdFor } from '../../src/invitations/index.js';
import { hiddenValue } from '../helpers/html.js';
import { freePort, startService, testConfigFile, type TestService } from '../helpers/service.js';
import { driveSignIn, startOidcProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';
import Koa from 'koa';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler, requestId } from '../../src/http/middleware.js';
import { listen } from '../../src/http/listen.js';
import { upstreamReturn } from '../../src/actions/callback.js';
import { oidcKind } from '../../src/upstreams/oidc/index.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const PW = 'correct horse battery';
const HASH = hashPasswordSync(PW);
const user = (upn: string) => ({ upn, passwordHash: HASH });

function local(id: string, domains: string[], users: string[], policy: Record<string, unknown> = {}) {
  return { id, displayName: `${id} org`, domains, policy, idp: { kind: 'local', users: users.map(user) } };
}

const form = (body: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
  redirect: 'manual' as const,
});

async function get(base: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
  return { res, html: await res.text() };
}

const auth = (params: Record<string, string>, prefix = '/auth') => `${prefix}?${new URLSearchParams({ appru: APPRU, ...params })}`;

/** Opens the window and returns the state on its first page (email or password page). */
async function open(base: string, path: string): Promise<string> {
  const { res, html } = await get(base, path);
  const state = hiddenValue(html, 'state');
  if (!state) throw new Error(`no state on ${path} (status ${res.status})`);
  return state;
}

const password = (base: string, state: string, username: string) => get(base, '/auth/password', form({ state, username, password: PW }));
const email = (base: string, state: string, address: string) => get(base, '/auth/email', form({ state, email: address }));
const claims = (html: string) => decodeJwt(hiddenValue(html, 'wresult')!);

describe('tenant binding with local IdPs', () => {
  let svc: TestService;
  const logLines: string[] = [];

  beforeAll(async () => {
    svc = await startService({
      file: testConfigFile({
        tenants: [
          local('corp', ['example.test'], ['alice@example.test']),
          local('lab', ['lab.test'], ['tester@lab.test']),
          // Its IdP (mis)lists a user of corp's domain; requireHintMatch off, so only the tenant binding stands in the way.
          local('open', ['open.test', 'open2.test'], ['ok@open.test', 'alice@example.test', 'Mixed@OPEN2.Test.'], { requireHintMatch: false }),
          local('guests', ['guests.test'], ['host@guests.test', 'guest@partner.test'], { allowForeignDomains: true }),
        ],
      }),
      log: pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }),
    });
  });
  afterAll(() => svc.close());

  it('a fixed-tenant transaction stays in its tenant: /auth/email with another tenant\'s address is refused', async () => {
    const state = await open(svc.url, auth({}, '/t/lab/auth'));
    const moved = await email(svc.url, state, 'alice@example.test');
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
    expect(moved.html).toContain('lab org');
    // Still lab's transaction: corp's user is unknown to lab's IdP, lab's own user signs in to lab.
    const corpUser = await password(svc.url, state, 'alice@example.test');
    expect(corpUser.res.status).toBe(401);
    expect(hiddenValue(corpUser.html, 'wresult')).toBeNull();
    const labUser = await password(svc.url, state, 'tester@lab.test');
    expect(claims(labUser.html)).toMatchObject({ tid: 'lab', upn: 'tester@lab.test' });
  });

  it('a tenant found from login_hint binds the transaction too (an unbound one still finds its tenant from the email)', async () => {
    const unbound = await open(svc.url, auth({}));
    expect((await email(svc.url, unbound, 'alice@example.test')).res.status).toBe(200);
    expect(claims((await password(svc.url, unbound, 'alice@example.test')).html)).toMatchObject({ tid: 'corp', upn: 'alice@example.test' });

    const state = await open(svc.url, auth({ login_hint: 'tester@lab.test' }));
    const moved = await email(svc.url, state, 'ALICE@Example.Test');
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
    // An address of no tenant is no way out either.
    const nowhere = await email(svc.url, state, 'someone@nowhere.test');
    expectErrorPage(nowhere.res, nowhere.html, 403, 'upn_not_in_tenant');
    // An address of the same tenant continues there.
    const same = await email(svc.url, state, 'tester@lab.test');
    expect(same.res.status).toBe(200);
    expect(hiddenValue(same.html, 'username')).toBe('tester@lab.test');
  });

  it('a login_hint outside a fixed tenant\'s domains is refused before any password (requireHintMatch)', async () => {
    const { res, html } = await get(svc.url, auth({ login_hint: 'alice@example.test' }, '/t/lab/auth'));
    expectErrorPage(res, html, 403, 'upn_not_in_tenant');
    expect(html).not.toContain('name="password"');
    expect(html).toContain('The account you used is outside the domains of lab org,');
    const de = await get(svc.url, auth({ login_hint: 'alice@example.test' }, '/t/lab/auth'), { headers: { 'accept-language': 'de' } });
    expect(de.html).toContain('Das verwendete Konto liegt in keiner Domäne von lab org');
    // Domains compare case-insensitively and without a trailing dot.
    const ok = await get(svc.url, auth({ login_hint: 'Tester@LAB.test.' }, '/t/lab/auth'));
    expect(ok.res.status).toBe(200);
    expect(ok.html).toContain('name="password"');
    // ... and so does requireHintMatch: the hint names the user who signs in.
    const signedIn = await password(svc.url, hiddenValue(ok.html, 'state')!, 'tester@lab.test');
    expect(claims(signedIn.html)).toMatchObject({ tid: 'lab', upn: 'tester@lab.test', login_hint: 'Tester@LAB.test.' });
  });

  it('the signed-in user\'s domain must be the tenant\'s: a foreign user of the tenant\'s own IdP gets no token', async () => {
    // requireHintMatch is off in `open`, so the hint does not stop it early: the policy at the end does.
    const state = await open(svc.url, auth({ login_hint: 'alice@example.test' }, '/t/open/auth'));
    const r = await password(svc.url, state, 'alice@example.test');
    expectErrorPage(r.res, r.html, 403, 'upn_not_in_tenant');
    expect(r.html).toContain('open org');
    // The refusal used the transaction: it cannot be retried into a token.
    const again = await password(svc.url, state, 'ok@open.test');
    expect(hiddenValue(again.html, 'wresult')).toBeNull();
    // The tenant's own users (any case, trailing dot) sign in.
    const s2 = await open(svc.url, auth({}, '/t/open/auth'));
    expect(claims((await password(svc.url, s2, 'ok@open.test')).html)).toMatchObject({ tid: 'open', upn: 'ok@open.test' });
    const s3 = await open(svc.url, auth({}, '/t/open/auth'));
    expect(claims((await password(svc.url, s3, 'mixed@open2.test.')).html)).toMatchObject({ tid: 'open', upn: 'Mixed@OPEN2.Test.' });
  });

  it('the refusal is audited with its code', async () => {
    const state = await open(svc.url, auth({}, '/t/open/auth'));
    await password(svc.url, state, 'alice@example.test');
    await svc.service.deps.audit.flush();
    const events = await svc.service.deps.store.listAudit({ tenantId: 'open', limit: 50 });
    expect(events.filter((e) => e.type === 'signin.refused').map((e) => e.detail?.code)).toContain('upn_not_in_tenant');
    expect(events.some((e) => e.type === 'signin.ok' && e.subject === 'alice@example.test')).toBe(false);
  });

  it('policy.allowForeignDomains widens the binding, and the configuration says so at start-up', async () => {
    const state = await open(svc.url, auth({}, '/t/guests/auth'));
    expect(claims((await password(svc.url, state, 'guest@partner.test')).html)).toMatchObject({ tid: 'guests', upn: 'guest@partner.test' });
    expect(svc.config.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tenants\[3\]\.policy\.allowForeignDomains: /),
        expect.stringMatching(/^tenants\[2\]\.idp\.users\[1\]\.upn: example\.test belongs to tenant corp; this user cannot sign in/),
      ]),
    );
    const logged = logLines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.some((l) => l.level === 40 && l.msg.startsWith('configuration warning: tenants[3].policy.allowForeignDomains'))).toBe(true);
  });

  describe('invitations', () => {
    function captureIO() {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIO = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), stdin: Readable.from([]), env: {} };
      return { io, out, err };
    }
    const link = (tenant: string, upn: string) =>
      ['link', '--config', join(svc.dir, 'config.yaml'), '--tenant', tenant, '--user', upn, '--servername', 'https://mdm.example.test'];

    it('an invitation for a user outside the tenant\'s domains is refused; allowForeignDomains allows it and it signs in', async () => {
      const refused = captureIO();
      expect(await main(link('lab', 'alice@example.test'), refused.io)).toBe(1);
      expect(refused.err.join('')).toMatch(/not a domain of tenant lab/);

      const ok = captureIO();
      expect(await main(link('guests', 'guest@partner.test'), ok.io)).toBe(0);
      const accesstoken = new URL(ok.out.join('').trim()).searchParams.get('accesstoken')!;
      const state = await open(svc.url, auth({ accesstoken, login_hint: 'guest@partner.test' }));
      const r = await password(svc.url, state, 'guest@partner.test');
      expect(claims(r.html)).toMatchObject({ tid: 'guests', upn: 'guest@partner.test', inv: invitationIdFor(accesstoken) });
    });

    it('a transaction bound by an invitation cannot be moved by /auth/email', async () => {
      const ok = captureIO();
      expect(await main(link('lab', 'tester@lab.test'), ok.io)).toBe(0);
      const accesstoken = new URL(ok.out.join('').trim()).searchParams.get('accesstoken')!;
      const state = await open(svc.url, auth({ accesstoken }));
      const moved = await email(svc.url, state, 'alice@example.test');
      expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
    });
  });
});

describe('tenant binding with an OpenID provider', () => {
  const SECRET = 'test-client-secret-0123456789';
  let svc: TestService;
  let idp: TestProvider;

  beforeAll(async () => {
    const idpPort = await freePort();
    const issuer = `http://127.0.0.1:${idpPort}`;
    svc = await startService({
      file: testConfigFile({
        tenants: [
          local('corp', ['example.test'], ['alice@example.test']),
          {
            id: 'contoso',
            displayName: 'Contoso',
            domains: ['contoso.test'],
            idp: { kind: 'oidc', issuer, clientId: 'fb', clientSecret: SECRET, scopes: ['openid', 'profile', 'email'] },
          },
        ],
      }),
    });
    idp = await startOidcProvider({
      port: idpPort,
      clients: [{ client_id: 'fb', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${svc.url}/callback/oidc`] }],
      users: [
        { login: 'ann@contoso.test', password: 'pw-ann' },
        { login: 'Carol@CONTOSO.test.', password: 'pw-carol' },
        // The IdP vouches for a user of another organization's domain.
        { login: 'mallory@example.test', password: 'pw-mallory' },
      ],
    });
  });
  afterAll(async () => {
    await idp?.close();
    await svc?.close();
  });

  it('an IdP that returns mallory@example.test for tenant contoso gets a 403 page, no token; its own users get one', async () => {
    const r = await driveSignIn(svc.url, `${svc.url}${auth({}, '/t/contoso/auth')}`, { login: 'mallory@example.test', password: 'pw-mallory' });
    expect(r.callback.url.startsWith(`${svc.url}/callback/oidc`)).toBe(true);
    expectErrorPage(r.res, r.html, 403, 'upn_not_in_tenant');
    expect(r.token).toBeNull();
    // The tenant's own users sign in (domain compared case-insensitively, without a trailing dot).
    const ann = await driveSignIn(svc.url, `${svc.url}${auth({ login_hint: 'ann@contoso.test' })}`, { login: 'ann@contoso.test', password: 'pw-ann' });
    expect(decodeJwt(ann.token!)).toMatchObject({ tid: 'contoso', upn: 'ann@contoso.test' });
    const carol = await driveSignIn(svc.url, `${svc.url}${auth({}, '/t/contoso/auth')}`, { login: 'Carol@CONTOSO.test.', password: 'pw-carol' });
    expect(decodeJwt(carol.token!)).toMatchObject({ tid: 'contoso', upn: 'Carol@CONTOSO.test.' });
  });

  it('a per-tenant callback route finishes only sign-ins of its own tenant (the SAML/WS-Fed routes\' binding)', async () => {
    // The routes /saml/:tenant/acs and /wsfed/:tenant call upstreamReturn with their :tenant;
    // here a small app does the same for the oidc kind, with the service's own deps.
    const deps = svc.service.deps;
    const app = new Koa();
    app.silent = true;
    app.use(requestId());
    app.use(errorHandler(deps));
    const route = { path: '/t/:tenant/cb', methods: ['GET' as const], stateParam: 'state', maxBodyBytes: 1024 };
    app.use((ctx) => {
      ctx.params = { tenant: /^\/t\/([^/]+)\/cb$/.exec(ctx.path)?.[1] ?? '' };
      return upstreamReturn(ctx, deps, oidcKind, route);
    });
    const server: Server = await listen(app, 0, '127.0.0.1');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answerAt = async (tenant: string) => {
      const r = await driveSignIn(svc.url, `${svc.url}${auth({}, '/t/contoso/auth')}`, { login: 'ann@contoso.test', password: 'pw-ann', stopAtCallback: true });
      const res = await fetch(`${base}/t/${tenant}/cb${new URL(r.callback.url).search}`, { redirect: 'manual' });
      return { res, html: await res.text(), callback: r.callback };
    };
    try {
      const wrong = await answerAt('corp');
      expectErrorPage(wrong.res, wrong.html, 400, 'unknown_state');
      // The mismatch is found before the transaction is taken: the right route still finishes it, once.
      const late = await fetch(`${base}/t/contoso/cb${new URL(wrong.callback.url).search}`, { redirect: 'manual' });
      expect(decodeJwt(hiddenValue(await late.text(), 'wresult')!)).toMatchObject({ tid: 'contoso', upn: 'ann@contoso.test' });
      const again = await fetch(`${base}/t/contoso/cb${new URL(wrong.callback.url).search}`, { redirect: 'manual' });
      expectErrorPage(again, await again.text(), 400, 'unknown_state');
      const right = await answerAt('contoso');
      expect(decodeJwt(hiddenValue(right.html, 'wresult')!)).toMatchObject({ tid: 'contoso', upn: 'ann@contoso.test' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
