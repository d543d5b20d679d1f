/**
 * The `wsfed` kind end to end (issue #8 §3, docs/adfs.md, docs/upstreams.md): a real Fedbridge service with
 * tenants of kind `wsfed`, driven over HTTP the way the device window is:
 *   GET /auth → 302 to the IdP's passive endpoint (wa, wtrealm, wreply, wctx) → the IdP's
 *   login form → its auto-POST form → POST /wsfed/<tenant> → the wresult page, whose token
 *   must verify against Fedbridge's JWKS.
 * Against the AD FS-shaped fixture (SAML 1.1 and 2.0, both wresult shapes, the rollover
 * certificate) and against Debian's SimpleSAMLphp WS-Fed IdP. Then an attack corpus at the
 * route, built from genuine answers captured here, and the IdP's metadata unreachable.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { freePort, startService, testConfigFile, type TestService } from '../helpers/service.js';
import { DEFAULT_USERS, buildAssertion, buildFederationMetadata, signRoot, startAdfsFixture, wrapRstr, type AdfsFixture, type AdfsMode, type FixtureUser } from '../fixtures/adfs/index.js';
import { readAutoPostForm, wsfedSignIn } from '../fixtures/adfs/client.js';
import {
  CookieJar,
  findPostForm,
  follow,
  parseForms,
  signInAtIdp,
  startSimpleSamlPhp,
  submitForm,
  type ParsedForm,
  type SimpleSamlPhp,
} from '../helpers/simplesamlphp.js';
import { forms, hiddenValue } from '../helpers/html.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const AUDIENCE = 'urn:fedbridge:mdm';
const ALICE = { user: 'alice@contoso.com', password: DEFAULT_USERS['alice@contoso.com']!.password };

const USERS: Record<string, FixtureUser> = {
  ...DEFAULT_USERS,
  'dave@contoso.com': { password: 'Dave-pw-1', upn: 'dave@contoso.com', name: 'Dave', groups: ['MDM Enrollers'], mfa: true },
  'frank@fabrikam.com': { password: 'Frank-pw-1', upn: 'frank@fabrikam.com', groups: ['Domain Users'] },
  'fiona@fabrikam.com': { password: 'Fiona-pw-1', upn: 'fiona@fabrikam.com', groups: ['Fabrikam Devices'] },
  'lee@litware.com': { password: 'Lee-pw-1', upn: 'lee@litware.com', groups: [] },
  // In 2500 groups: an answer of about 470 KiB, about 610 KiB once form-encoded.
  'gus@contoso.com': {
    password: 'Gus-pw-1',
    upn: 'gus@contoso.com',
    groups: [...Array.from({ length: 2499 }, (_, i) => `Contoso group number ${i} (R&D)`), 'MDM Enrollers'],
  },
};

function wsfedTenant(id: string, domain: string, idp: Record<string, unknown>, policy: Record<string, unknown> = {}) {
  return { id, displayName: `${id} org`, domains: [domain], policy, idp: { kind: 'wsfed', ...idp } };
}

async function verified(svc: TestService, token: string | null): Promise<JWTPayload> {
  expect(token).toBeTruthy();
  const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(token!, jwks, { issuer: svc.url, audience: AUDIENCE });
  return payload;
}

/** GET /auth (or /t/<tenant>/auth): must redirect to the IdP; returns where to. */
async function startAt(svc: TestService, o: { hint?: string; tenant?: string }): Promise<URL> {
  const q = new URLSearchParams({ appru: APPRU, ...(o.hint ? { login_hint: o.hint } : {}) });
  const res = await fetch(`${svc.url}${o.tenant ? `/t/${o.tenant}` : ''}/auth?${q}`, { redirect: 'manual' });
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(302);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return new URL(res.headers.get('location')!);
}

/** A fresh transaction's wctx. */
async function freshWctx(svc: TestService, o: { hint?: string; tenant?: string } = { hint: ALICE.user }): Promise<string> {
  return (await startAt(svc, o)).searchParams.get('wctx')!;
}

/** Logs in at the AD FS fixture's forms page the redirect leads to; returns its auto-POST form. */
async function loginAtAdfs(redirect: URL, user: string, password: string): Promise<ParsedForm> {
  const jar = new CookieJar();
  const page = await follow(jar, redirect.href);
  expect(page.status).toBe(200);
  const login = parseForms(page.body, page.url).find((f) => f.names.includes('UserName') && f.names.includes('Password'));
  expect(login, 'the fixture shows its login form').toBeDefined();
  const answer = await follow(jar, login!.action, { method: 'POST', form: { ...login!.fields, UserName: user, Password: password } });
  const form = findPostForm(answer, ['wa', 'wresult']);
  expect(form, 'the fixture answers with its auto-POST form').toBeDefined();
  return form!;
}

interface Posted {
  res: Response;
  html: string;
  token: string | null;
}

/** POSTs fields (repeatable names allowed) to a return route as the IdP's auto-POST form does. */
async function postAnswer(url: string, fields: Record<string, string> | [string, string][]): Promise<Posted> {
  const body = new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields));
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
  const html = await res.text();
  return { res, html, token: hiddenValue(html, 'wresult') };
}

/** The end of a good sign-in: exactly one form, to the appru, with the token. */
function expectWresultPage(p: Posted): void {
  expect(p.res.status, /<code>([^<]*)<\/code>/.exec(p.html)?.[1]).toBe(200);
  expect(p.res.headers.get('cache-control')).toContain('no-store');
  const fs = forms(p.html);
  expect(fs).toHaveLength(1);
  expect(fs[0]).toMatchObject({ method: 'post', action: APPRU, names: ['wresult'] });
}

describe('wsfed against the AD FS fixture', () => {
  let adfs: AdfsFixture;
  let slow: AdfsFixture;
  let odd: Server;
  let svc: TestService;
  let route: (tenant: string) => string;

  beforeAll(async () => {
    adfs = await startAdfsFixture({ users: USERS });
    slow = await startAdfsFixture({ mode: 'slow', slowMs: 8000 });
    // Metadata that cannot be used: not metadata at all; a passive endpoint on plain http:// off loopback; a 500.
    const plainHttp = buildFederationMetadata({
      issuer: 'http://adfs.example.com/adfs/services/trust',
      baseUrl: 'http://adfs.example.com',
      signing: [adfs.keys.primary],
      other: adfs.keys.other,
      metadataKey: adfs.keys.primary,
    });
    odd = createServer((req, res) => {
      const body = req.url === '/garbage' ? '<html>Service Unavailable</html' : req.url === '/plain-http' ? plainHttp : 'boom';
      res.writeHead(req.url === '/error' ? 500 : 200, { 'content-type': 'application/xml', connection: 'close' }).end(body);
    });
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', () => r()));
    const oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
    const closed = await freePort();
    svc = await startService({
      file: testConfigFile({
        tenants: [
          wsfedTenant('contoso', 'contoso.com', { metadataUrl: adfs.metadataUrl }, { allowedGroups: ['MDM Enrollers'] }),
          wsfedTenant('fabrikam', 'fabrikam.com', { metadataUrl: adfs.metadataUrl }, { allowedGroups: ['Fabrikam Devices'] }),
          // A realm that is not the reply address, an explicit endpoint, and a fresh sign-in asked for.
          wsfedTenant('litware', 'litware.com', {
            metadataUrl: adfs.metadataUrl,
            realm: 'urn:fedbridge:litware',
            endpoint: `${adfs.passiveUrl}?tenant=litware`,
            forceAuthn: true,
          }),
          wsfedTenant('deadidp', 'dead.example', {
            metadataUrl: `http://127.0.0.1:${closed}/FederationMetadata/2007-06/FederationMetadata.xml`,
            timeoutMs: 2000,
          }),
          wsfedTenant('slowidp', 'slow.example', { metadataUrl: slow.metadataUrl, timeoutMs: 1000 }),
          wsfedTenant('garbageidp', 'garbage.example', { metadataUrl: `${oddUrl}/garbage` }),
          wsfedTenant('plainidp', 'plain.example', { metadataUrl: `${oddUrl}/plain-http` }),
          wsfedTenant('erroridp', 'error.example', { metadataUrl: `${oddUrl}/error` }),
        ],
      }),
    });
    route = (tenant) => `${svc.url}/wsfed/${tenant}`;
  });
  afterAll(async () => {
    await svc?.close();
    await adfs?.close();
    await slow?.close();
    await new Promise<void>((r) => (odd ? odd.close(() => r()) : r()));
  });

  /** A genuine answer of the fixture for `tenant`'s realm, captured without going through Fedbridge. */
  async function capture(tenant: string, o: { user?: string; password?: string; wctx?: string; mode?: AdfsMode } = {}): Promise<Record<string, string>> {
    adfs.options.mode = o.mode ?? 'ok';
    try {
      const r = await wsfedSignIn(adfs, {
        realm: route(tenant),
        wreply: route(tenant),
        wctx: o.wctx ?? 'captured',
        username: o.user ?? ALICE.user,
        password: o.password ?? ALICE.password,
      });
      const form = readAutoPostForm(r.html);
      expect(form, r.html.slice(0, 200)).not.toBeNull();
      return form!.fields;
    } finally {
      adfs.options.mode = 'ok';
    }
  }

  /** /auth → fixture → /wsfed/<tenant>, with the fixture set to one SAML version and wresult shape. */
  async function fullSignIn(o: { hint?: string; tenant?: string; user: string; password: string; version?: '1.1' | '2.0'; shape?: '2005' | '1.3'; mode?: AdfsMode }) {
    adfs.options.samlVersion = o.version ?? '1.1';
    adfs.options.wresultShape = o.shape ?? '1.3';
    adfs.options.mode = o.mode ?? 'ok';
    try {
      const redirect = await startAt(svc, { hint: o.hint, tenant: o.tenant });
      const form = await loginAtAdfs(redirect, o.user, o.password);
      const posted = await postAnswer(form.action, form.fields);
      return { redirect, form, ...posted };
    } finally {
      adfs.options.samlVersion = '1.1';
      adfs.options.wresultShape = '1.3';
      adfs.options.mode = 'ok';
    }
  }

  it('redirects to the passive endpoint of the federation metadata with wa, wtrealm, wreply and wctx', async () => {
    const redirect = await startAt(svc, { hint: ALICE.user });
    expect(redirect.origin + redirect.pathname).toBe(adfs.passiveUrl);
    const q = redirect.searchParams;
    expect(q.get('wa')).toBe('wsignin1.0');
    expect(q.get('wtrealm')).toBe(route('contoso'));
    expect(q.get('wreply')).toBe(route('contoso'));
    expect(q.get('wctx')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(adfs.hits['/FederationMetadata/2007-06/FederationMetadata.xml']).toBeGreaterThanOrEqual(1);
  });

  const variants: Array<{ version: '1.1' | '2.0'; shape: '2005' | '1.3' }> = [
    { version: '1.1', shape: '1.3' },
    { version: '1.1', shape: '2005' },
    { version: '2.0', shape: '1.3' },
    { version: '2.0', shape: '2005' },
  ];
  for (const v of variants) {
    it(`SAML ${v.version} in a ${v.shape === '2005' ? 'WS-Trust 2005/02 RSTR' : 'WS-Trust 1.3 RSTR collection'}: a verified token`, async () => {
      const r = await fullSignIn({ hint: ALICE.user, user: ALICE.user, password: ALICE.password, ...v });
      expect(r.form.action).toBe(route('contoso'));
      expect(r.form.fields.wctx).toBe(r.redirect.searchParams.get('wctx'));
      expect(r.form.fields.wresult).toContain(v.version === '1.1' ? 'urn:oasis:names:tc:SAML:1.0:assertion' : 'urn:oasis:names:tc:SAML:2.0:assertion');
      expect(r.form.fields.wresult).toContain(v.shape === '2005' ? 'http://schemas.xmlsoap.org/ws/2005/02/trust' : 'RequestSecurityTokenResponseCollection');
      expectWresultPage(r);
      const payload = await verified(svc, r.token);
      expect(payload).toMatchObject({
        tid: 'contoso',
        upn: 'alice@contoso.com',
        email: 'alice@contoso.com',
        name: 'Alice Martin',
        amr: ['pwd'],
        idp: { kind: 'wsfed', id: 'contoso-wsfed' },
        login_hint: 'alice@contoso.com',
      });
      // Groups decide policy (allowedGroups: MDM Enrollers) but are not copied into the token.
      expect(payload).not.toHaveProperty('groups');
      expect(JSON.stringify(payload)).not.toContain('MDM Enrollers');
      expect(payload.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  }

  it('the secondary (rollover) certificate of the metadata is trusted too', async () => {
    const r = await fullSignIn({ hint: ALICE.user, user: ALICE.user, password: ALICE.password, mode: 'secondary' });
    expectWresultPage(r);
    expect((await verified(svc, r.token)).upn).toBe('alice@contoso.com');
  });

  it('the same user gets the same sub whatever the SAML version; MFA from the IdP shows in amr', async () => {
    const a = await fullSignIn({ hint: ALICE.user, user: ALICE.user, password: ALICE.password, version: '1.1' });
    const b = await fullSignIn({ hint: ALICE.user, user: ALICE.user, password: ALICE.password, version: '2.0' });
    expect((await verified(svc, a.token)).sub).toBe((await verified(svc, b.token)).sub);
    for (const version of ['1.1', '2.0'] as const) {
      const d = await fullSignIn({ hint: 'dave@contoso.com', user: 'dave@contoso.com', password: 'Dave-pw-1', version });
      expect((await verified(svc, d.token)).amr).toContain('mfa');
    }
  });

  it('a large answer (a user in 2500 groups, ~470 KiB) gets through the route and the validator', async () => {
    const r = await fullSignIn({ hint: 'gus@contoso.com', user: 'gus@contoso.com', password: 'Gus-pw-1' });
    expect(r.form.fields.wresult!.length).toBeGreaterThan(400 * 1024);
    expectWresultPage(r);
    expect(await verified(svc, r.token)).toMatchObject({ tid: 'contoso', upn: 'gus@contoso.com' });
  });

  it('policy: allowedGroups refuses a user in none of them (403 not_in_group), admits one in them', async () => {
    const frank = await fullSignIn({ hint: 'frank@fabrikam.com', user: 'frank@fabrikam.com', password: 'Frank-pw-1' });
    expect(frank.form.action).toBe(route('fabrikam'));
    expectErrorPage(frank.res, frank.html, 403, 'not_in_group');
    const fiona = await fullSignIn({ hint: 'fiona@fabrikam.com', user: 'fiona@fabrikam.com', password: 'Fiona-pw-1' });
    expect(await verified(svc, fiona.token)).toMatchObject({ tid: 'fabrikam', upn: 'fiona@fabrikam.com', idp: { kind: 'wsfed', id: 'fabrikam-wsfed' } });
  });

  it("a UPN of another domain than the tenant's: 403 upn_not_in_tenant, no token", async () => {
    // The tenant is fixed by the URL; the IdP signs in a contoso user for fabrikam's realm.
    const r = await fullSignIn({ tenant: 'fabrikam', user: ALICE.user, password: ALICE.password });
    expect(r.form.action).toBe(route('fabrikam'));
    expectErrorPage(r.res, r.html, 403, 'upn_not_in_tenant');
  });

  it('realm, endpoint and forceAuthn from the config: wtrealm is the audience, the answer still comes to /wsfed/<tenant>', async () => {
    const r = await fullSignIn({ hint: 'lee@litware.com', user: 'lee@litware.com', password: 'Lee-pw-1', version: '2.0' });
    expect(Object.fromEntries(r.redirect.searchParams)).toMatchObject({
      tenant: 'litware',
      wa: 'wsignin1.0',
      wtrealm: 'urn:fedbridge:litware',
      wreply: route('litware'),
      wfresh: '0',
    });
    expect(r.form.action).toBe(route('litware'));
    expect(await verified(svc, r.token)).toMatchObject({ tid: 'litware', upn: 'lee@litware.com' });
    // An answer for the default realm (the reply address) is for another relying party here.
    const other = await capture('litware', { user: 'lee@litware.com', password: 'Lee-pw-1', wctx: await freshWctx(svc, { hint: 'lee@litware.com' }) });
    const refused = await postAnswer(route('litware'), other);
    expectErrorPage(refused.res, refused.html, 400, 'assertion_wrong_audience');
  });

  describe('the attack corpus at POST /wsfed/:tenant', () => {
    let cases = 0;
    function refused(p: Posted, status: number, code: string): void {
      cases++;
      expectErrorPage(p.res, p.html, status, code);
      expect(p.token).toBeNull();
      // Nothing of the answer is echoed into the page.
      expect(p.html).not.toMatch(/<saml|<t:|Assertion|ceo@|<!DOCTYPE r/);
    }
    afterEach(async () => {
      // No refusal took the service down.
      const health = await fetch(`${svc.url}/healthz`);
      expect(health.status).toBe(200);
      await health.arrayBuffer();
    });

    it('replays of a genuine answer: same wctx → unknown_state; fresh wctx → assertion_replayed; finished wctx → unknown_state', async () => {
      const first = await fullSignIn({ hint: ALICE.user, user: ALICE.user, password: ALICE.password });
      await verified(svc, first.token);
      const answer = first.form.fields;

      refused(await postAnswer(route('contoso'), answer), 400, 'unknown_state');
      refused(await postAnswer(route('contoso'), { ...answer, wctx: await freshWctx(svc) }), 400, 'assertion_replayed');
      // Another, unused genuine answer with the wctx of the finished transaction.
      refused(await postAnswer(route('contoso'), { ...(await capture('contoso')), wctx: answer.wctx! }), 400, 'unknown_state');
    });

    it("wctx of another tenant's transaction, or none at all (unsolicited), or malformed", async () => {
      const genuine = await capture('contoso');
      const fabrikamWctx = await freshWctx(svc, { tenant: 'fabrikam' });
      refused(await postAnswer(route('contoso'), { ...genuine, wctx: fabrikamWctx }), 400, 'unknown_state');
      // The transaction was not burnt by the wrong route: its own route still reads it (and refuses the audience).
      refused(await postAnswer(route('fabrikam'), { ...genuine, wctx: fabrikamWctx }), 400, 'assertion_wrong_audience');
      const contosoWctx = await freshWctx(svc);
      refused(await postAnswer(route('fabrikam'), { ...(await capture('fabrikam')), wctx: contosoWctx }), 400, 'unknown_state');
      const { wctx: _drop, ...unsolicited } = genuine;
      refused(await postAnswer(route('contoso'), unsolicited), 400, 'unknown_state');
      refused(await postAnswer(route('contoso'), { ...genuine, wctx: 'not-a-transaction-of-ours-0123456789' }), 400, 'unknown_state');
      refused(await postAnswer(route('contoso'), { ...genuine, wctx: '<script>' }), 400, 'unknown_state');
      refused(await postAnswer(route('nosuchtenant'), { ...genuine, wctx: contosoWctx }), 400, 'unknown_state');
      // And after all that, the genuine answer with its tenant's live transaction still works.
      const ok = await postAnswer(route('contoso'), { ...genuine, wctx: contosoWctx });
      expectWresultPage(ok);
      expect((await verified(svc, ok.token)).upn).toBe('alice@contoso.com');
    });

    it('wa other than wsignin1.0, wa missing, wresult missing, empty or doubled, wctx doubled', async () => {
      const genuine = await capture('contoso');
      refused(await postAnswer(route('contoso'), { ...genuine, wctx: await freshWctx(svc), wa: 'wsignout1.0' }), 400, 'invalid_request');
      refused(await postAnswer(route('contoso'), { ...genuine, wctx: await freshWctx(svc), wa: 'wsignin1.0 ' }), 400, 'invalid_request');
      const { wa: _wa, ...noWa } = genuine;
      refused(await postAnswer(route('contoso'), { ...noWa, wctx: await freshWctx(svc) }), 400, 'invalid_request');
      const { wresult, ...noWresult } = genuine;
      refused(await postAnswer(route('contoso'), { ...noWresult, wctx: await freshWctx(svc) }), 400, 'invalid_request');
      refused(await postAnswer(route('contoso'), { ...noWresult, wresult: '', wctx: await freshWctx(svc) }), 400, 'invalid_request');
      const wctx = await freshWctx(svc);
      refused(
        await postAnswer(route('contoso'), [['wa', 'wsignin1.0'], ['wresult', wresult!], ['wresult', wresult!], ['wctx', wctx]]),
        400,
        'invalid_request',
      );
      refused(await postAnswer(route('contoso'), [['wa', 'wsignin1.0'], ['wresult', wresult!], ['wctx', wctx], ['wctx', wctx]]), 400, 'invalid_request');
      refused(await postAnswer(route('contoso'), [['wa', 'wsignin1.0'], ['wresult[x]', wresult!], ['wctx', wctx]]), 400, 'invalid_request');
      // None of those consumed the genuine assertion: it is still good once.
      const ok = await postAnswer(route('contoso'), { ...genuine, wctx: await freshWctx(svc) });
      expectWresultPage(ok);
    });

    it('tampered, foreign, another realm, and the fixture misbehaving (unsigned, foreign key, expired, wrong audience, garbage)', async () => {
      const genuine = await capture('contoso');
      const post = async (wresult: string) => postAnswer(route('contoso'), { wa: 'wsignin1.0', wresult, wctx: await freshWctx(svc) });

      const tampered = genuine.wresult!.replaceAll('alice@contoso.com', 'ceo@contoso.com');
      expect(tampered).not.toBe(genuine.wresult);
      refused(await post(tampered), 400, 'assertion_invalid_signature');
      refused(await post((await capture('fabrikam')).wresult!), 400, 'assertion_wrong_audience');
      refused(await post((await capture('contoso', { mode: 'unsigned' })).wresult!), 400, 'assertion_unsigned');
      refused(await post((await capture('contoso', { mode: 'foreign-key' })).wresult!), 400, 'assertion_invalid_signature');
      refused(await post((await capture('contoso', { mode: 'expired' })).wresult!), 400, 'assertion_expired');
      refused(await post((await capture('contoso', { mode: 'wrong-audience' })).wresult!), 400, 'assertion_wrong_audience');
      refused(await post((await capture('contoso', { mode: 'garbage' })).wresult!), 400, 'assertion_malformed');
      refused(await post(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "alice@contoso.com">]>${genuine.wresult!}`), 400, 'assertion_dtd_refused');
      // A second (unsigned) assertion before the signed one (signature wrapping).
      const decoy = '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"/>';
      refused(await post(genuine.wresult!.replace('<t:RequestedSecurityToken>', `<t:RequestedSecurityToken>${decoy}`)), 400, 'assertion_ambiguous');
      refused(await post('not xml at all'), 400, 'assertion_malformed');
      // Signed with the metadata's own key, but naming another issuer, or (SAML 2.0) another recipient.
      const forge = (o: { issuer?: string; recipient?: string; version: '1.1' | '2.0' }) => {
        const now = Date.now();
        const assertion = buildAssertion({
          version: o.version,
          issuer: o.issuer ?? adfs.issuer,
          audience: route('contoso'),
          user: DEFAULT_USERS['alice@contoso.com']!,
          issueInstant: now,
          notBefore: now,
          notOnOrAfter: now + 600_000,
          recipient: o.recipient,
        });
        return wrapRstr(signRoot(assertion, adfs.keys.primary), { shape: '1.3', version: o.version, appliesTo: route('contoso'), created: now, expires: now + 600_000 });
      };
      refused(await post(forge({ version: '1.1', issuer: 'http://sts.evil.example/adfs/services/trust' })), 400, 'assertion_wrong_issuer');
      refused(await post(forge({ version: '2.0', issuer: adfs.metadataUrl })), 400, 'assertion_wrong_issuer');
      refused(await post(forge({ version: '2.0', recipient: 'https://rp.evil.example/wsfed/contoso' })), 400, 'assertion_wrong_recipient');
      // The forger itself is sound: the same assertion with the right issuer and recipient passes.
      expectWresultPage(await post(forge({ version: '2.0', recipient: route('contoso') })));
      // Within the route's body limit but over the answer's own size limit.
      refused(await post('a'.repeat(520 * 1024)), 400, 'assertion_too_large');
      // The genuine answer was never spent by the refusals above.
      expectWresultPage(await post(genuine.wresult!));
    });

    it('a body over the route limit: 413 page; then the service is healthy', async () => {
      const wctx = await freshWctx(svc);
      const big = await postAnswer(route('contoso'), { wa: 'wsignin1.0', wresult: 'x'.repeat(1600 * 1024), wctx });
      refused(big, 413, 'request_too_large');
      const health = await fetch(`${svc.url}/healthz`);
      expect(health.status).toBe(200);
      // The transaction was not touched by the refused body: it still completes.
      const answer = await capture('contoso', { wctx });
      expectWresultPage(await postAnswer(route('contoso'), answer));
    });

    afterAll(() => {
      // Counted per run (the report quotes it); every case above asserted its own page.
      console.info(`wsfed attack corpus: ${cases} refused cases`);
    });
  });

  it('the IdP metadata unreachable: 502 (connection refused) or 504 (too slow) page within timeoutMs', async () => {
    const dead = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'x@dead.example' })}`, { redirect: 'manual' });
    expectErrorPage(dead, await dead.text(), 502, 'upstream_unreachable');

    const started = Date.now();
    const late = await fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: 'x@slow.example' })}`, { redirect: 'manual' });
    const elapsed = Date.now() - started;
    expectErrorPage(late, await late.text(), 504, 'upstream_unreachable');
    // The deadline (timeoutMs 1000) decided, not the IdP (which would answer after 8 s).
    expect(elapsed).toBeLessThan(4000);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('unusable metadata: not metadata (502 metadata_invalid), an error status, or a passive endpoint on plain http (502 upstream_error)', async () => {
    const start = (domain: string) => fetch(`${svc.url}/auth?${new URLSearchParams({ appru: APPRU, login_hint: `x@${domain}` })}`, { redirect: 'manual' });
    const garbage = await start('garbage.example');
    expectErrorPage(garbage, await garbage.text(), 502, 'metadata_invalid');
    const error = await start('error.example');
    expectErrorPage(error, await error.text(), 502, 'upstream_error');
    // Never a redirect of the window to http://adfs.example.com/adfs/ls/.
    const plain = await start('plain.example');
    const html = await plain.text();
    expect(plain.headers.get('location')).toBeNull();
    expectErrorPage(plain, html, 502, 'upstream_error');
    expect(html).not.toContain('adfs.example.com');
  });
});

describe('wsfed: the IdP rolls its token-signing certificate over after Fedbridge read its metadata', () => {
  let adfs: AdfsFixture;
  let svc: TestService;

  beforeAll(async () => {
    // The metadata lists only the primary certificate at first.
    adfs = await startAdfsFixture({ metadataSigningKeys: ['primary'] });
    svc = await startService({ file: testConfigFile({ tenants: [wsfedTenant('contoso', 'contoso.com', { metadataUrl: adfs.metadataUrl })] }) });
  });
  afterAll(async () => {
    await svc?.close();
    await adfs?.close();
  });

  async function signIn(): Promise<Posted> {
    const form = await loginAtAdfs(await startAt(svc, { hint: ALICE.user }), ALICE.user, ALICE.password);
    return postAnswer(form.action, form.fields);
  }

  it('an answer signed by a new certificate makes Fedbridge read the metadata again, at most once a minute', async () => {
    const metadataHits = () => adfs.hits['/FederationMetadata/2007-06/FederationMetadata.xml'] ?? 0;
    const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    const first = await signIn();
    expectWresultPage(first);
    expect(metadataHits()).toBe(1);

    // Rollover: the metadata now lists the new certificate first, and the IdP signs with it.
    adfs.options.metadataSigningKeys = ['secondary', 'primary'];
    adfs.options.mode = 'secondary';
    // Within a minute of the last fetch, an unknown key does not make Fedbridge fetch again
    // (forged answers cannot make it hammer the IdP): refused, nothing minted.
    const tooSoon = await signIn();
    expectErrorPage(tooSoon.res, tooSoon.html, 400, 'assertion_invalid_signature');
    expect(metadataHits()).toBe(1);

    svc.clock.advance(61_000);
    const after = await signIn();
    expectWresultPage(after);
    expect(metadataHits()).toBe(2);
    // The service's clock is ahead now: verify the token as of its time.
    const { payload } = await jwtVerify(after.token!, jwks, { issuer: svc.url, audience: AUDIENCE, currentDate: new Date(svc.clock.now()) });
    expect(payload).toMatchObject({ tid: 'contoso', upn: 'alice@contoso.com', idp: { kind: 'wsfed', id: 'contoso-wsfed' } });

    // A foreign key still gets one refresh attempt a minute, and is refused either way.
    svc.clock.advance(61_000);
    adfs.options.mode = 'foreign-key';
    const forged = await signIn();
    expectErrorPage(forged.res, forged.html, 400, 'assertion_invalid_signature');
    expect(metadataHits()).toBe(3);
    const forgedAgain = await signIn();
    expectErrorPage(forgedAgain.res, forgedAgain.html, 400, 'assertion_invalid_signature');
    expect(metadataHits()).toBe(3);
  });
});

describe('wsfed against SimpleSAMLphp (adfs module)', () => {
  const TESS = { username: 'tess', password: 'tess-pw', upn: 'tess@tailspintoys.com', email: 'tess@tailspintoys.com', name: 'Tess Tailspin', groups: ['Pilots'] };
  let ssp: SimpleSamlPhp;
  let svc: TestService;

  beforeAll(async () => {
    ssp = await startSimpleSamlPhp({ users: [TESS] });
    svc = await startService({
      file: testConfigFile({
        tenants: [wsfedTenant('tailspin', 'tailspintoys.com', { metadataUrl: ssp.wsfed.metadataUrl }, { allowedGroups: ['Pilots'] })],
      }),
    });
    // The relying party is known once Fedbridge's port is.
    ssp.setRelyingParties({ wsfedSps: [{ realm: `${svc.url}/wsfed/tailspin`, wreply: `${svc.url}/wsfed/tailspin` }] });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await ssp?.stop();
  });

  it('a full sign-in ends in a verified token; its answer replayed is refused', async () => {
    const redirect = await startAt(svc, { hint: TESS.upn });
    expect(redirect.origin + redirect.pathname).toBe(ssp.wsfed.passiveEndpoint);
    expect(redirect.searchParams.get('wtrealm')).toBe(`${svc.url}/wsfed/tailspin`);
    const jar = new CookieJar();
    const { form } = await signInAtIdp(jar, redirect.href, TESS, ['wa', 'wresult', 'wctx']).catch((e: Error) => {
      throw new Error(`${e.message}\n${ssp.logs()}`);
    });
    expect(form.action).toBe(`${svc.url}/wsfed/tailspin`);
    expect(form.fields.wctx).toBe(redirect.searchParams.get('wctx'));
    const page = await submitForm(jar, form);
    expect(page.status, page.body.slice(0, 400)).toBe(200);
    const payload = await verified(svc, hiddenValue(page.body, 'wresult'));
    expect(payload).toMatchObject({ tid: 'tailspin', upn: TESS.upn, email: TESS.email, name: TESS.name, idp: { kind: 'wsfed', id: 'tailspin-wsfed' } });
    expect(payload).not.toHaveProperty('groups');

    const same = await postAnswer(form.action, form.fields);
    expectErrorPage(same.res, same.html, 400, 'unknown_state');
    const fresh = await postAnswer(form.action, { ...form.fields, wctx: await freshWctx(svc, { hint: TESS.upn }) });
    expectErrorPage(fresh.res, fresh.html, 400, 'assertion_replayed');
  });
});
