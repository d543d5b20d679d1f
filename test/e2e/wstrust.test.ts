/**
 * The `wstrust` upstream kind end to end (issue #8 §4, docs/adfs.md): a real Fedbridge service
 * whose tenant `contoso` signs in at the AD FS-shaped fixture's WS-Trust 1.3 STS
 * (`usernamemixed`), driven over HTTP as the device window would: /auth → Fedbridge's own
 * password page → POST /auth/password → the wresult page, whose token must verify against
 * the service's JWKS. The fixture puts the RST's AppliesTo in the assertion's Audience
 * (as AD FS does for a known relying party), so the audience check is ours alone: only the
 * `wrong-audience` mode answers for another relying party.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createLogger } from '../../src/log.js';
import { startService, testConfigFile, freePort, type TestService } from '../helpers/service.js';
import { forms, hiddenValue } from '../helpers/html.js';
import { expectErrorPage } from '../upstreams/oidc/expect.js';
import { DEFAULT_USERS, startAdfsFixture, type AdfsFixture } from '../fixtures/adfs/index.js';
import { simulate, stepNames } from '../helpers/simulate.js';
import { CLIENT } from '../helpers/enrollment.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const APPLIES_TO = 'urn:federation:fedbridge-contoso';
const ALICE = DEFAULT_USERS['alice@contoso.com']!;
const BOB = DEFAULT_USERS['CONTOSO\\bob']!;
const MALLORY = { password: 'M4ll0ry-pass!', upn: 'mallory@fabrikam.com', name: 'Mallory' };
const STS_PATH = '/adfs/services/trust/13/usernamemixed';
const METADATA_PATH = '/FederationMetadata/2007-06/FederationMetadata.xml';

let adfs: AdfsFixture;
let svc: TestService;
let mfaSvc: TestService;
const lines: string[] = [];

function wstrustTenant(id: string, domains: string[], idp: Record<string, unknown> = {}, policy: Record<string, unknown> = {}) {
  return {
    id,
    displayName: `${id} Ltd`,
    domains,
    policy,
    idp: { kind: 'wstrust', endpoint: adfs.stsUrl, metadataUrl: adfs.metadataUrl, appliesTo: APPLIES_TO, ...idp },
  };
}

beforeAll(async () => {
  adfs = await startAdfsFixture({ users: { ...DEFAULT_USERS, 'mallory@fabrikam.com': MALLORY }, slowMs: 1500 });
  const closed = `http://127.0.0.1:${await freePort()}`;
  svc = await startService({
    log: createLogger('debug', { write: (s: string) => void lines.push(s) }),
    file: testConfigFile({
      limits: { passwordPerUser: 3, passwordPerIp: 100 },
      // The introspection client `fedbridge simulate` uses (test/helpers/simulate.ts).
      enrollmentServers: [CLIENT],
      tenants: [
        wstrustTenant('contoso', ['contoso.com']),
        // A short deadline against a slow STS.
        wstrustTenant('slowco', ['slow.example'], { timeoutMs: 300 }),
        // Metadata nobody answers (refused), and metadata that stalls.
        wstrustTenant('nometa', ['nometa.example'], { metadataUrl: `${closed}${METADATA_PATH}` }),
        wstrustTenant('stallmeta', ['stallmeta.example'], { timeoutMs: 300 }),
      ],
    }),
  });
  mfaSvc = await startService({ file: testConfigFile({ tenants: [wstrustTenant('contoso', ['contoso.com'], {}, { requireMfa: true })] }) });
});

afterAll(async () => {
  await svc?.close();
  await mfaSvc?.close();
  await adfs?.close();
});

afterEach(() => {
  adfs.options.mode = 'ok';
  adfs.options.samlVersion = '1.1';
  adfs.options.slowPaths = null;
  adfs.options.repeatLastAnswer = false;
  adfs.options.assertionIssuer = null;
});

async function verified(base: string, token: string | null): Promise<JWTPayload> {
  expect(token).toBeTruthy();
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(token!, jwks, { issuer: base, audience: 'urn:fedbridge:mdm' });
  return payload;
}

/** GET /auth with the hint: must be Fedbridge's own password page (a form to /auth/password), never the IdP. */
async function passwordPage(base: string, hint: string): Promise<{ state: string; html: string }> {
  const res = await fetch(`${base}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=${encodeURIComponent(hint)}`, { redirect: 'manual' });
  const html = await res.text();
  expect(res.status).toBe(200);
  const posts = forms(html).filter((f) => f.method.toLowerCase() === 'post');
  expect(posts).toHaveLength(1);
  expect(posts[0]).toMatchObject({ action: '/auth/password', names: expect.arrayContaining(['state', 'username', 'password']) });
  const state = hiddenValue(html, 'state');
  expect(state).toBeTruthy();
  return { state: state!, html };
}

async function submit(base: string, state: string, username: string, password: string) {
  const res = await fetch(`${base}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ state, username, password }),
  });
  const html = await res.text();
  return { res, html, token: hiddenValue(html, 'wresult') };
}

async function signIn(o: { hint: string; username: string; password: string; base?: string }) {
  const base = o.base ?? svc.url;
  const { state } = await passwordPage(base, o.hint);
  return { state, ...(await submit(base, state, o.username, o.password)) };
}

async function healthy(base = svc.url) {
  const res = await fetch(`${base}/healthz`);
  expect(res.status).toBe(200);
}

/** A fixture user of contoso.com of its own, so one test's failures spend no other test's password budget. */
let made = 0;
function freshUser(extra: Partial<typeof ALICE> = {}): { username: string; password: string } {
  const username = `user${++made}@contoso.com`;
  const password = `Pw-${made}-${'x'.repeat(made)}!`;
  adfs.options.users[username] = { password, upn: username, name: `User ${made}`, ...extra };
  return { username, password };
}

describe('wstrust sign-in against the AD FS fixture STS', () => {
  it('UPN: password page, STS, a token verified against the JWKS with tid, upn, amr and idp', async () => {
    const before = adfs.hits[STS_PATH] ?? 0;
    const r = await signIn({ hint: 'alice@contoso.com', username: 'alice@contoso.com', password: ALICE.password });
    expect(r.res.status).toBe(200);
    expect(adfs.hits[STS_PATH]).toBe(before + 1);
    const p = await verified(svc.url, r.token);
    expect(p).toMatchObject({
      tid: 'contoso',
      upn: 'alice@contoso.com',
      email: 'alice@contoso.com',
      name: 'Alice Martin',
      amr: ['pwd'],
      idp: { kind: 'wstrust', id: 'contoso-wstrust' },
      login_hint: 'alice@contoso.com',
    });
    expect(r.html).not.toContain(ALICE.password);
  });

  it('DOMAIN\\user: CONTOSO\\bob signs in as bob@contoso.com, and the STS reported MFA', async () => {
    const r = await signIn({ hint: 'bob@contoso.com', username: 'CONTOSO\\bob', password: BOB.password });
    const p = await verified(svc.url, r.token);
    expect(p).toMatchObject({ tid: 'contoso', upn: 'bob@contoso.com', idp: { kind: 'wstrust' } });
    expect(p.amr).toContain('mfa');
  });

  it('SAML 2.0 answers sign in too', async () => {
    adfs.options.samlVersion = '2.0';
    const r = await signIn({ hint: 'alice@contoso.com', username: 'alice@contoso.com', password: ALICE.password });
    expect(await verified(svc.url, r.token)).toMatchObject({ upn: 'alice@contoso.com', amr: ['pwd'], idp: { kind: 'wstrust' } });
    adfs.options.samlVersion = '2.0';
    const bob = await signIn({ hint: 'bob@contoso.com', username: 'CONTOSO\\bob', password: BOB.password });
    expect((await verified(svc.url, bob.token)).amr).toContain('mfa');
  });

  it('an answer signed with the secondary (rollover) certificate of the metadata signs in', async () => {
    adfs.options.mode = 'secondary';
    const r = await signIn({ hint: 'alice@contoso.com', username: 'alice@contoso.com', password: ALICE.password });
    expect((await verified(svc.url, r.token)).upn).toBe('alice@contoso.com');
  });

  it('policy.requireMfa: CONTOSO\\bob (MFA) passes, alice (password only) gets the mfa_required page', async () => {
    const bob = await signIn({ base: mfaSvc.url, hint: 'bob@contoso.com', username: 'CONTOSO\\bob', password: BOB.password });
    expect((await verified(mfaSvc.url, bob.token)).amr).toContain('mfa');
    const alice = await signIn({ base: mfaSvc.url, hint: 'alice@contoso.com', username: 'alice@contoso.com', password: ALICE.password });
    expectErrorPage(alice.res, alice.html, 403, 'mfa_required');
  });

  it('a user name and password full of XML metacharacters reach the STS as literal text (no RST injection)', async () => {
    const username = `o'brien&"sons"<x>@contoso.com`;
    const password = `</o:Password></o:UsernameToken><![CDATA[ & ' " <`;
    adfs.options.users[username] = { password, upn: username };
    const r = await signIn({ hint: username, username, password });
    expect((await verified(svc.url, r.token)).upn).toBe(username);
  });

  it('a password the RST cannot carry (a control character) gets a 400 page, not an echo', async () => {
    const user = freshUser();
    const stsBefore = adfs.hits[STS_PATH] ?? 0;
    const r = await signIn({ hint: user.username, username: user.username, password: 'bad\u0001Secret-pw' });
    expectErrorPage(r.res, r.html, 400, 'invalid_request');
    expect(r.html).not.toContain('Secret-pw');
    expect(adfs.hits[STS_PATH]).toBe(stsBefore);
  });

  it('a user of another domain returned by the STS gets upn_not_in_tenant, no token', async () => {
    const r = await signIn({ hint: 'alice@contoso.com', username: 'mallory@fabrikam.com', password: MALLORY.password });
    expectErrorPage(r.res, r.html, 403, 'upn_not_in_tenant');
  });
});

describe('wrong passwords', () => {
  it('FailedAuthentication: the password page again (401), no echo; after passwordPerUser failures 429 with Retry-After, the STS not asked', async () => {
    adfs.options.mode = 'wrong-password';
    const user = freshUser();
    const wrong = 'Wr0ng-S3cret-Typed!';
    const { state } = await passwordPage(svc.url, user.username);
    for (let i = 0; i < 3; i++) {
      const stsBefore = adfs.hits[STS_PATH] ?? 0;
      const r = await submit(svc.url, state, user.username, wrong);
      expect(r.res.status).toBe(401);
      expect(adfs.hits[STS_PATH]).toBe(stsBefore + 1);
      expect(r.token).toBeNull();
      // The same form again, the same transaction, the user name kept, the password not.
      const again = forms(r.html).filter((f) => f.method.toLowerCase() === 'post');
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ action: '/auth/password', names: expect.arrayContaining(['state', 'username', 'password']) });
      expect(hiddenValue(r.html, 'state')).toBe(state);
      expect(r.html).toContain(`value="${user.username}"`);
      expect(r.html).toContain('role="alert"');
      expect(r.html).not.toContain(wrong);
    }
    const stsBefore = adfs.hits[STS_PATH] ?? 0;
    const limited = await submit(svc.url, state, user.username, wrong);
    expectErrorPage(limited.res, limited.html, 429, 'too_many_attempts');
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.html).not.toContain(wrong);
    expect(adfs.hits[STS_PATH]).toBe(stsBefore);
    // Even the right password is refused now: the limit holds before the STS is asked.
    adfs.options.mode = 'ok';
    const right = await submit(svc.url, state, user.username, user.password);
    expect(right.res.status).toBe(429);
    expect(adfs.hits[STS_PATH]).toBe(stsBefore);
  });

  it('after a wrong password the same transaction still signs in with the right one', async () => {
    const user = freshUser();
    adfs.options.mode = 'wrong-password';
    const { state } = await passwordPage(svc.url, user.username);
    expect((await submit(svc.url, state, user.username, 'nope-nope')).res.status).toBe(401);
    adfs.options.mode = 'ok';
    const r = await submit(svc.url, state, user.username, user.password);
    expect((await verified(svc.url, r.token)).upn).toBe(user.username);
  });
});

describe('an STS answer that must not sign anyone in', () => {
  for (const [mode, code] of [
    ['unsigned', 'assertion_unsigned'],
    ['foreign-key', 'assertion_invalid_signature'],
    ['expired', 'assertion_expired'],
    ['wrong-audience', 'assertion_wrong_audience'],
  ] as const) {
    it(`${mode}: a 400 page with ${code}, no token, the service healthy`, async () => {
      const user = freshUser();
      adfs.options.mode = mode;
      const r = await signIn({ hint: user.username, username: user.username, password: user.password });
      expectErrorPage(r.res, r.html, 400, code);
      expect(r.html).not.toContain(user.password);
      await healthy();
    });
  }

  it('an assertion signed by a metadata key but naming another Issuer than the metadata entityID: assertion_wrong_issuer', async () => {
    const user = freshUser();
    adfs.options.assertionIssuer = 'http://sts.fabrikam.example/adfs/services/trust';
    const r = await signIn({ hint: user.username, username: user.username, password: user.password });
    expectErrorPage(r.res, r.html, 400, 'assertion_wrong_issuer');
  });

  it('garbage from the STS: a 502 upstream_error page', async () => {
    const user = freshUser();
    adfs.options.mode = 'garbage';
    const r = await signIn({ hint: user.username, username: user.username, password: user.password });
    expectErrorPage(r.res, r.html, 502, 'upstream_error');
    await healthy();
  });

  it('an STS slower than timeoutMs: a 504 upstream_unreachable page within the deadline', async () => {
    const user = freshUser();
    adfs.options.mode = 'slow';
    adfs.options.slowPaths = [STS_PATH];
    const { state } = await passwordPage(svc.url, 'someone@slow.example');
    const stsBefore = adfs.hits[STS_PATH] ?? 0;
    const t0 = Date.now();
    const r = await submit(svc.url, state, user.username, user.password);
    expect(Date.now() - t0).toBeLessThan(1400);
    expect(adfs.hits[STS_PATH]).toBe(stsBefore + 1);
    expectErrorPage(r.res, r.html, 504, 'upstream_unreachable');
    await healthy();
  });

  it("an STS outage does not use up the user's password budget (passwordPerUser: 3)", async () => {
    const user = freshUser();
    adfs.options.mode = 'slow';
    adfs.options.slowPaths = [STS_PATH];
    for (let i = 0; i < 4; i++) {
      const { state } = await passwordPage(svc.url, 'someone@slow.example');
      const r = await submit(svc.url, state, user.username, user.password);
      expectErrorPage(r.res, r.html, 504, 'upstream_unreachable');
    }
    adfs.options.mode = 'ok';
    adfs.options.slowPaths = [];
    const { state } = await passwordPage(svc.url, 'someone@slow.example');
    const r = await submit(svc.url, state, user.username, user.password);
    expect(r.res.status).not.toBe(429);
  });

  it('federation metadata unreachable: a 502 page, and the password never leaves for the STS', async () => {
    const user = freshUser();
    const stsBefore = adfs.hits[STS_PATH] ?? 0;
    const r = await signIn({ hint: 'someone@nometa.example', username: user.username, password: user.password });
    expectErrorPage(r.res, r.html, 502, 'upstream_unreachable');
    expect(adfs.hits[STS_PATH] ?? 0).toBe(stsBefore);
    await healthy();
  });

  it('federation metadata that stalls past timeoutMs: a 504 page, the STS not asked', async () => {
    const user = freshUser();
    adfs.options.mode = 'slow';
    adfs.options.slowPaths = [METADATA_PATH];
    const stsBefore = adfs.hits[STS_PATH] ?? 0;
    const r = await signIn({ hint: 'someone@stallmeta.example', username: user.username, password: user.password });
    expectErrorPage(r.res, r.html, 504, 'upstream_unreachable');
    expect(adfs.hits[STS_PATH] ?? 0).toBe(stsBefore);
    await healthy();
  });

  it('the same STS answer played back for another sign-in: assertion_replayed', async () => {
    const user = freshUser();
    const first = await signIn({ hint: user.username, username: user.username, password: user.password });
    expect((await verified(svc.url, first.token)).upn).toBe(user.username);
    // The fixture now sends the very bytes of that answer again (same assertion, same ID, same signature).
    adfs.options.repeatLastAnswer = true;
    const again = await signIn({ hint: user.username, username: user.username, password: user.password });
    expectErrorPage(again.res, again.html, 400, 'assertion_replayed');
  });

  it('the one-time assertion ids hold across instances sharing the store', async () => {
    // A second instance of the same deployment: same tenant, same SQLite store, its own keys.
    const twin = await startService({
      file: testConfigFile({ store: { kind: 'sqlite', path: `${svc.dir}/db.sqlite` }, tenants: [wstrustTenant('contoso', ['contoso.com'])] }),
    });
    try {
      const user = freshUser();
      const first = await signIn({ hint: user.username, username: user.username, password: user.password });
      expect((await verified(svc.url, first.token)).upn).toBe(user.username);
      adfs.options.repeatLastAnswer = true;
      const again = await signIn({ base: twin.url, hint: user.username, username: user.username, password: user.password });
      expectErrorPage(again.res, again.html, 400, 'assertion_replayed');
      // The twin itself signs in with a fresh answer.
      adfs.options.repeatLastAnswer = false;
      const fresh = await signIn({ base: twin.url, hint: user.username, username: user.username, password: user.password });
      expect((await verified(twin.url, fresh.token)).upn).toBe(user.username);
    } finally {
      await twin.close();
    }
  });
});

describe('fedbridge simulate --http --password on the wstrust password page', () => {
  it('answers the page with the UPN and the password, then GetPolicies, Enroll and the replay check pass', async () => {
    const r = await simulate(['--server', svc.url, '--user', 'alice@contoso.com', '--password', ALICE.password, '--http']);
    expect(r.code, r.out).toBe(0);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'sign-in (http)', 'wresult capture', 'GetPolicies', 'Enroll', 'replay refused']);
    expect(r.lines[1]).toContain('password → wresult');
    expect(r.lines[2]).toContain('upn alice@contoso.com, tid contoso');
    expect(r.out).not.toContain(ALICE.password);
  });

  it('a wrong password fails the sign-in step (the page asked again)', async () => {
    const user = freshUser();
    adfs.options.mode = 'wrong-password';
    const r = await simulate(['--server', svc.url, '--user', user.username, '--password', 'not-the-password', '--http']);
    expect(r.code).toBe(1);
    expect(stepNames(r.lines)).toEqual(['discovery GET', 'sign-in (http)']);
    expect(r.lines.at(-1)).toMatch(/^FAIL sign-in \(http\).*password page refused/);
  });
});

describe('secrets', () => {
  it('no password typed in this file reached the logs or the audit', async () => {
    await svc.service.deps.audit.flush();
    const audit = JSON.stringify(await svc.service.deps.store.listAudit({ limit: 10_000 }));
    expect(audit).toContain('signin.password_failed');
    expect(audit).toContain('signin.ok');
    const logs = lines.join('');
    expect(logs).toContain('token minted');
    const passwords = [ALICE.password, BOB.password, MALLORY.password, 'Wr0ng-S3cret-Typed!', 'nope-nope', 'not-the-password'];
    for (const u of Object.values(adfs.options.users)) passwords.push(u.password);
    for (const pw of passwords) {
      expect(logs).not.toContain(pw);
      expect(audit).not.toContain(pw);
    }
  });
});
