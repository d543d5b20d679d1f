/**
 * Attacks on the auth window (README "The sign-in flow"): every hostile or broken request ends on a
 * branded 4xx page with `Cache-Control: no-store` and a CSP, never a 5xx, a stack trace,
 * a redirect, a form carrying a token, or a transaction left in the store.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { forms, hiddenValue, signIn } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { createInvitation } from '../../src/invitations/index.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const DEMO_PW = 'fedbridge-demo';
const PW = 'contoso-pw-1234';
const HASH = hashPasswordSync(PW);
const MDM_SECRET = 'mdm-secret-0123456789abcdef';

/** A config-file service with one local tenant; `extra` is merged at the top level. */
function contosoFile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server: { publicUrl: 'http://127.0.0.1:{{PORT}}' },
    store: { kind: 'sqlite', path: '{{DIR}}/data/fedbridge.db' },
    keys: { dir: '{{DIR}}/keys' },
    enrollmentServers: [{ id: 'mdm', secret: MDM_SECRET }],
    tenants: [
      {
        id: 'contoso',
        displayName: 'Contoso Ltd',
        domains: ['contoso.test'],
        idp: {
          kind: 'local',
          users: [
            { upn: 'ann@contoso.test', name: 'Ann', passwordHash: HASH },
            { upn: 'ben@contoso.test', name: 'Ben', passwordHash: HASH },
          ],
        },
      },
    ],
    ...extra,
  };
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

function authPath(params: Record<string, string> | string, prefix = '/auth'): string {
  return `${prefix}?${typeof params === 'string' ? params : new URLSearchParams(params)}`;
}

/** Page hygiene every response of the auth window must have, error or not. */
function expectSafePage(res: Response, html: string): void {
  expect(res.status).toBeLessThan(500);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(html).not.toMatch(/^\s*at .+:\d+:\d+\)?\s*$/m); // no stack frames
  expect(html).not.toContain('Error:');
}

/** A branded error page with this status and code: no form, no redirect, no token. */
function expectErrorPage(res: Response, html: string, status: number, code: string): void {
  expectSafePage(res, html);
  expect(res.status).toBe(status);
  expect(html).toContain(`<code>${code}</code>`);
  expect(html).toMatch(/<h1>[^<]+<\/h1>/);
  expect(forms(html)).toHaveLength(0);
  expect(res.headers.get('location')).toBeNull();
  expect(html).not.toContain('wresult');
  expect(hiddenValue(html, 'state')).toBeNull();
}

/** Starts a sign-in and returns the state from the page it shows. */
async function startState(base: string, params: Record<string, string> = { appru: APPRU }): Promise<string> {
  const { res, html } = await get(base, authPath(params));
  const state = hiddenValue(html, 'state');
  if (!state) throw new Error(`no state (status ${res.status})`);
  return state;
}

describe('bad input at the auth window (demo mode)', () => {
  let svc: TestService;
  let puts: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(() => svc.close());
  afterEach(() => puts?.mockRestore());

  /** Counts transactions written while the request runs. */
  const watchStore = () => {
    puts = vi.spyOn(svc.service.deps.store, 'putTransaction');
    return puts;
  };

  it('missing appru → 400 missing_appru page, nothing stored', async () => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ login_hint: 'alice@example.com' }));
    expectErrorPage(res, html, 400, 'missing_appru');
    expect(spy).not.toHaveBeenCalled();
  });

  it('empty appru → 400 missing_appru page', async () => {
    const { res, html } = await get(svc.url, authPath('appru=&login_hint=alice%40example.com'));
    expectErrorPage(res, html, 400, 'missing_appru');
  });

  const refused: Array<[string, string]> = [
    ['javascript: URL', 'javascript:alert(1)'],
    ['data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['unlisted https address', 'https://evil.example/x'],
    ['unlisted loopback http address', 'http://127.0.0.1:1/x'],
    ['bare ms-app:', 'ms-app:'],
    ['ms-app:// without a name', 'ms-app://'],
    ['ms-app with markup', 'ms-app://a"><script>alert(1)</script>'],
    ['ms-app with a space', 'ms-app://x y'],
    ['ms-app with a trailing newline', 'ms-app://x\n'],
    ['ms-app with a NUL byte', 'ms-app://x\u0000'],
    ['ms-app with a query string', 'ms-app://x?next=https://evil.example'],
    ['ms-app with userinfo', 'ms-app://user@x'],
    ['upper-case MS-APP scheme', 'MS-APP://x'],
    ['ms-app: without slashes', 'ms-app:x'],
    ['protocol-relative address', '//evil.example/x'],
    ['the demo device page on another host', 'http://localhost:1/demo/device'],
    ['appru over 2048 characters', `ms-app://${'a'.repeat(2100)}`],
  ];
  it.each(refused)('appru %s → 400 invalid_appru page, nothing stored', async (_name, appru) => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ appru, login_hint: 'alice@example.com' }));
    expectErrorPage(res, html, 400, 'invalid_appru');
    expect(spy).not.toHaveBeenCalled();
    expect(html).not.toContain('<script>alert');
  });

  it('appru given twice → 400 invalid_appru page, nothing stored', async () => {
    const spy = watchStore();
    const q = `appru=${encodeURIComponent(APPRU)}&appru=${encodeURIComponent('https://evil.example/x')}&login_hint=alice%40example.com`;
    const { res, html } = await get(svc.url, authPath(q));
    expectErrorPage(res, html, 400, 'invalid_appru');
    expect(spy).not.toHaveBeenCalled();
  });

  it('invalid appru is refused before the tenant is looked at (/t/:tenant/auth)', async () => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ appru: 'https://evil.example/x' }, '/t/demo/auth'));
    expectErrorPage(res, html, 400, 'invalid_appru');
    expect(spy).not.toHaveBeenCalled();
  });

  it('login_hint with markup is escaped on the email page (unknown domain)', async () => {
    const hint = '"><script>alert(1)</script>@nowhere.test';
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: hint }));
    expectSafePage(res, html);
    expect(res.status).toBe(200);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('"><script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(hiddenValue(html, 'email')).toBe(hint);
  });

  it('login_hint with markup is escaped on the password page (known domain)', async () => {
    const hint = '"><script>alert(1)</script>@example.com';
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: hint }));
    expectSafePage(res, html);
    expect(html).toContain('name="password"');
    expect(html).not.toContain('<script>alert');
    expect(hiddenValue(html, 'username')).toBe(hint);
  });

  it('login_hint with markup is escaped on the hint_mismatch error page', async () => {
    const hint = '"><img src=x onerror=alert(1)>@example.com';
    const { res, html } = await signIn(svc.url, { appru: APPRU, hint, user: 'alice@example.com', password: DEMO_PW });
    expectErrorPage(res, html, 403, 'hint_mismatch');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('login_hint with an encoded + keeps the plus', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: 'alice+enroll@example.com' }));
    expectSafePage(res, html);
    expect(html).toContain('name="password"');
    expect(hiddenValue(html, 'username')).toBe('alice+enroll@example.com');
  });

  it('login_hint with a raw (unencoded) + keeps the plus, not a space', async () => {
    const { res, html } = await get(svc.url, authPath(`appru=${encodeURIComponent(APPRU)}&login_hint=alice+enroll@example.com`));
    expectSafePage(res, html);
    expect(hiddenValue(html, 'username')).toBe('alice+enroll@example.com');
  });

  it('login_hint with broken percent-encoding is a 400 page', async () => {
    const { res, html } = await get(svc.url, authPath(`appru=${encodeURIComponent(APPRU)}&login_hint=alice%E0%A4%A@example.com`));
    expect(res.status).toBe(400);
    expect(html).toContain('<code>invalid_request</code>');
  });

  it('login_hint with %40 is decoded once to @ and the sign-in completes', async () => {
    const { html } = await get(svc.url, authPath(`appru=${encodeURIComponent(APPRU)}&login_hint=alice%40example.com`));
    expect(hiddenValue(html, 'username')).toBe('alice@example.com');
    const state = hiddenValue(html, 'state')!;
    const done = await fetch(`${svc.url}/auth/password`, form({ state, username: 'alice@example.com', password: DEMO_PW }));
    const token = hiddenValue(await done.text(), 'wresult')!;
    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).login_hint).toBe('alice@example.com');
  });

  it('login_hint double-encoded (%2540) is not decoded twice: asks for the email', async () => {
    const { res, html } = await get(svc.url, authPath(`appru=${encodeURIComponent(APPRU)}&login_hint=alice%2540example.com`));
    expectSafePage(res, html);
    expect(html).toContain('name="email"');
    expect(hiddenValue(html, 'email')).toBe('alice%40example.com');
  });

  it('login_hint given twice → 400 invalid_request page, nothing stored', async () => {
    const spy = watchStore();
    const q = `appru=${encodeURIComponent(APPRU)}&login_hint=alice%40example.com&login_hint=bob%40example.com`;
    const { res, html } = await get(svc.url, authPath(q));
    expectErrorPage(res, html, 400, 'invalid_request');
    expect(spy).not.toHaveBeenCalled();
  });

  it('login_hint over 256 characters → 400 invalid_request page, nothing stored', async () => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: `${'a'.repeat(250)}@example.com` }));
    expectErrorPage(res, html, 400, 'invalid_request');
    expect(spy).not.toHaveBeenCalled();
  });

  it('a client parameter over 256 characters → 400 invalid_request page', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, deviceidentifier: 'd'.repeat(257) }));
    expectErrorPage(res, html, 400, 'invalid_request');
  });

  it('client parameters full of control characters (6 bytes each in the token) → 400 at /auth, not 500 at the end', async () => {
    const spy = watchStore();
    const ctl = '\u0001'.repeat(256);
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: 'alice@example.com', deviceidentifier: ctl, tenantidentifier: ctl, ownership: ctl }));
    expectErrorPage(res, html, 400, 'invalid_request');
    expect(spy).not.toHaveBeenCalled();
  });

  it('query string over 4096 bytes → 414 page, nothing stored', async () => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, junk: 'x'.repeat(4100) }));
    expectErrorPage(res, html, 414, 'request_too_large');
    expect(spy).not.toHaveBeenCalled();
  });

  it('a malformed accesstoken → 400 invitation_invalid page, nothing stored', async () => {
    const spy = watchStore();
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, accesstoken: '<script>' }));
    expectErrorPage(res, html, 400, 'invitation_invalid');
    expect(spy).not.toHaveBeenCalled();
  });

  it('an unknown accesstoken → 400 invitation_invalid page', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, accesstoken: 'A'.repeat(43) }));
    expectErrorPage(res, html, 400, 'invitation_invalid');
  });

  it('/t/nope/auth → 404 unknown_tenant page', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU }, '/t/nope/auth'));
    expectErrorPage(res, html, 404, 'unknown_tenant');
  });

  it('/t/<broken percent-encoding>/auth → 404 unknown_tenant page', async () => {
    const { res, html } = await get(svc.url, `/t/%E0%A4%A/auth?appru=${encodeURIComponent(APPRU)}`);
    expectErrorPage(res, html, 404, 'unknown_tenant');
  });

  it('broken percent-encoding in login_hint → a page, no 5xx', async () => {
    const { res, html } = await get(svc.url, `/auth?appru=${encodeURIComponent(APPRU)}&login_hint=%E0%A4%A`);
    expectSafePage(res, html);
  });

  it('an unknown page → 404 not_found page', async () => {
    const { res, html } = await get(svc.url, '/wp-login.php');
    expectErrorPage(res, html, 404, 'not_found');
  });

  it('POST /auth (wrong method) → 405 branded page', async () => {
    const { res, html } = await get(svc.url, '/auth', { method: 'POST' });
    expectErrorPage(res, html, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toContain('GET');
  });

  it('GET /auth/password (wrong method) → 405 branded page', async () => {
    const { res, html } = await get(svc.url, '/auth/password');
    expectErrorPage(res, html, 405, 'method_not_allowed');
  });

  it('an unknown HTTP method → 405 branded page, not 501', async () => {
    const { res, html } = await get(svc.url, '/auth', { method: 'PROPFIND' });
    expectErrorPage(res, html, 405, 'method_not_allowed');
  });

  it('GET /introspect (wrong method) → 405 JSON error', async () => {
    const res = await fetch(`${svc.url}/introspect`);
    expect(res.status).toBe(405);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it('a forged X-Request-Id with markup is not reflected', async () => {
    const { res, html } = await get(svc.url, authPath({}), { headers: { 'x-request-id': '<script>alert(1)</script>' } });
    expectErrorPage(res, html, 400, 'missing_appru');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(html).not.toContain('<script>alert');
  });

  it('a garbage Accept-Language still gets a page (English)', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU }), { headers: { 'accept-language': ';;q=abc,,*;q=-1, <x>' } });
    expectSafePage(res, html);
    expect(res.status).toBe(200);
    expect(html).toContain('<html lang="en">');
  });

  it('a store failure → 500 server_error page without the internal message or a stack', async () => {
    const spy = vi.spyOn(svc.service.deps.store, 'putTransaction').mockRejectedValueOnce(new Error('disk on fire at /var/lib/secret.db'));
    const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: 'alice@example.com' }));
    spy.mockRestore();
    expect(res.status).toBe(500);
    expect(html).toContain('<code>server_error</code>');
    expect(html).not.toContain('disk on fire');
    expect(html).not.toContain('/var/lib');
    expect(html).not.toMatch(/^\s*at .+:\d+:\d+\)?\s*$/m);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('the right password posted twice at once for one state mints one token only', async () => {
    const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
    const post = () => get(svc.url, '/auth/password', form({ state, username: 'alice@example.com', password: DEMO_PW }));
    const results = await Promise.all([post(), post(), post()]);
    const tokens = results.map((r) => hiddenValue(r.html, 'wresult')).filter(Boolean);
    expect(tokens).toHaveLength(1);
    for (const r of results.filter((x) => !hiddenValue(x.html, 'wresult'))) expectErrorPage(r.res, r.html, 400, 'unknown_state');
  });

  describe('state on the forms', () => {
    const attacks: Array<[string, Record<string, string>]> = [
      ['no state', {}],
      ['an empty state', { state: '' }],
      ['a forged well-formed state', { state: 'A'.repeat(32) }],
      ['a state with markup', { state: '<script>alert(1)</script>' }],
      ['a state over 128 characters', { state: 'A'.repeat(200) }],
    ];
    it.each(attacks)('/auth/password with %s → 400 unknown_state page', async (_name, fields) => {
      const { res, html } = await get(svc.url, '/auth/password', form({ ...fields, username: 'alice@example.com', password: DEMO_PW }));
      expectErrorPage(res, html, 400, 'unknown_state');
    });
    it.each(attacks)('/auth/email with %s → 400 unknown_state page', async (_name, fields) => {
      const { res, html } = await get(svc.url, '/auth/email', form({ ...fields, email: 'alice@example.com' }));
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('state given twice → 400 unknown_state page', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      const body = `state=${state}&state=${state}&username=alice%40example.com&password=${DEMO_PW}`;
      const { res, html } = await get(svc.url, '/auth/password', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('a state whose organization is not known yet cannot go to /auth/password', async () => {
      const state = await startState(svc.url); // no hint: the email page
      const { res, html } = await get(svc.url, '/auth/password', form({ state, username: 'alice@example.com', password: DEMO_PW }));
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('an expired transaction (16 minutes later) → unknown_state on /auth/password', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      svc.clock.advance(16 * 60_000);
      const { res, html } = await get(svc.url, '/auth/password', form({ state, username: 'alice@example.com', password: DEMO_PW }));
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('an expired transaction (16 minutes later) → unknown_state on /auth/email', async () => {
      const state = await startState(svc.url);
      svc.clock.advance(16 * 60_000);
      const { res, html } = await get(svc.url, '/auth/email', form({ state, email: 'alice@example.com' }));
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('a form body that is JSON instead of a form → 400 unknown_state page', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      const { res, html } = await get(svc.url, '/auth/password', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state, username: 'alice@example.com', password: DEMO_PW }),
      });
      expectErrorPage(res, html, 400, 'unknown_state');
    });

    it('a form body over 16 KiB → 413 page', async () => {
      const { res, html } = await get(svc.url, '/auth/password', form({ state: 'A'.repeat(32), password: 'x'.repeat(20_000) }));
      expectErrorPage(res, html, 413, 'request_too_large');
    });

    it('a password over 1024 characters → 400 invalid_request page', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      const { res, html } = await get(svc.url, '/auth/password', form({ state, username: 'alice@example.com', password: 'x'.repeat(1025) }));
      expectErrorPage(res, html, 400, 'invalid_request');
    });

    it('an email with markup on the email page is escaped and refused with 400', async () => {
      const state = await startState(svc.url);
      const email = '"><script>alert(1)</script>';
      const { res, html } = await get(svc.url, '/auth/email', form({ state, email }));
      expectSafePage(res, html);
      expect(res.status).toBe(400);
      expect(html).not.toContain('<script>alert');
      expect(hiddenValue(html, 'email')).toBe(email);
    });
  });

  describe('a wrong password never tells whether the user exists', () => {
    const normalize = (html: string, user: string) =>
      // The page names the user it was posted for (form value and "Signing in as"): nothing else may differ.
      html.replace(/nonce(=|-)"?[A-Za-z0-9+/=]+/g, 'nonce').replaceAll(`value="${user}"`, 'value="USER"').replaceAll(`Signing in as ${user}<`, 'Signing in as USER<');

    it('same status and page for a wrong password of a known and of an unknown user', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      const known = await get(svc.url, '/auth/password', form({ state, username: 'alice@example.com', password: 'wrong' }));
      const unknown = await get(svc.url, '/auth/password', form({ state, username: 'mallory@example.com', password: 'wrong' }));
      expectSafePage(known.res, known.html);
      expect(known.res.status).toBe(401);
      expect(unknown.res.status).toBe(known.res.status);
      expect(normalize(unknown.html, 'mallory@example.com')).toBe(normalize(known.html, 'alice@example.com'));
      expect(known.html).not.toContain('wresult');
    });

    it('a missing password → 400 with the form again, no token', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'alice@example.com' });
      const { res, html } = await get(svc.url, '/auth/password', form({ state, username: 'alice@example.com' }));
      expectSafePage(res, html);
      expect(res.status).toBe(400);
      expect(html).toContain('name="password"');
      expect(html).not.toContain('wresult');
    });
  });
});

describe('bad input with a config file', () => {
  let svc: TestService;
  let cb: string;

  beforeAll(async () => {
    svc = await startService({ file: contosoFile({ appru: { allow: ['http://127.0.0.1:{{PORT}}/cb?a=1&b=2'] } }) });
    cb = `${svc.url}/cb?a=1&b=2`;
  });
  afterAll(() => svc.close());

  it('the wresult page escapes an allow-listed appru with & and form-action is its exact origin', async () => {
    const { res, html, token } = await signIn(svc.url, { appru: cb, hint: 'ann@contoso.test', user: 'ann@contoso.test', password: PW });
    expect(res.status).toBe(200);
    expect(token).toBeTruthy();
    expect(html).toContain(`action="${svc.url}/cb?a=1&amp;b=2"`);
    expect(html).not.toContain('a=1&b=2"');
    expect(forms(html)).toEqual([{ method: 'post', action: cb, names: ['wresult'] }]);
    const directives = (res.headers.get('content-security-policy') ?? '').split(';').map((d) => d.trim());
    expect(directives).toContain(`form-action ${svc.url}`);
    expect(directives.filter((d) => d.startsWith('form-action'))).toHaveLength(1);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('the allow-listed address with one more parameter is refused (exact match only)', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: `${cb}&c=3` }));
    expectErrorPage(res, html, 400, 'invalid_appru');
  });

  it('the allow-listed address with another port is refused', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: cb.replace(/:\d+\//, ':1/') }));
    expectErrorPage(res, html, 400, 'invalid_appru');
  });

  it('the demo device page is not allowed outside demo mode', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: `${svc.url}/demo/device` }));
    expectErrorPage(res, html, 400, 'invalid_appru');
  });

  it('POST /demo/device is 404 outside demo mode', async () => {
    const { res, html } = await get(svc.url, '/demo/device', form({ wresult: 'x' }));
    expectErrorPage(res, html, 404, 'not_found');
  });

  it('error pages of a tenant flow carry the tenant branding, not a demo banner', async () => {
    const state = await startState(svc.url, { appru: APPRU, login_hint: 'ann@contoso.test' });
    const { res, html } = await get(svc.url, '/auth/password', form({ state, username: 'ann@contoso.test', password: 'x'.repeat(1025) }));
    expectErrorPage(res, html, 400, 'invalid_request');
    expect(html).toContain('Contoso Ltd');
    expect(html).not.toContain('Demo mode');
  });
});

describe('the token stays within 4 KiB', () => {
  const longUpn = `${'a'.repeat(243)}@contoso.test`;
  let svc: TestService;
  beforeAll(async () => {
    const file = contosoFile({ keys: { dir: '{{DIR}}/keys', algorithm: 'RS256' } });
    const [t] = file.tenants as Array<Record<string, any>>;
    t.idp.users.push({ upn: longUpn, name: 'N'.repeat(200), email: longUpn, passwordHash: HASH });
    svc = await startService({ file });
  });
  afterAll(() => svc.close());

  it('the longest window parameters (4 × 256 characters) with RS256 and a 256-character UPN still mint a token ≤ 4096 bytes', async () => {
    expect(longUpn).toHaveLength(256);
    const d = (c: string) => c.repeat(256);
    const { res, token } = await signIn(svc.url, {
      appru: APPRU,
      hint: longUpn,
      user: longUpn,
      password: PW,
      extra: { deviceidentifier: d('d'), tenantidentifier: d('t'), ownership: d('o') },
    });
    expect(res.status).toBe(200);
    expect(token!.length).toBeLessThanOrEqual(4096);
  });
});

describe('an invitation stays in its organization', () => {
  let svc: TestService;
  beforeAll(async () => {
    const file = contosoFile();
    const tenants = file.tenants as Array<Record<string, unknown>>;
    // Fabrikam's IdP also knows a user called ann@contoso.test.
    // (With a user of its own: `config check` refuses a tenant nobody can sign in to, issue #10.)
    const users = [{ upn: 'fred@fabrikam.test', passwordHash: HASH }, { upn: 'ann@contoso.test', passwordHash: HASH }];
    tenants.push({ id: 'fabrikam', displayName: 'Fabrikam', domains: ['fabrikam.test'], idp: { kind: 'local', users } });
    svc = await startService({ file });
  });
  afterAll(() => svc.close());

  it('a Contoso invitation cannot be spent on a Fabrikam sign-in by posting the email form with its state', async () => {
    const { accesstoken } = await createInvitation(svc.service.deps.store, { tenantId: 'contoso', upn: 'ann@contoso.test', ttlSeconds: 3600, now: svc.clock.now() });
    const state = await startState(svc.url, { appru: APPRU, accesstoken });
    // The invitation binds the sign-in to Contoso: the email form cannot move it (issue #7, finding 2).
    const moved = await get(svc.url, '/auth/email', form({ state, email: 'someone@fabrikam.test' }));
    expectErrorPage(moved.res, moved.html, 403, 'tenant_mismatch');
    // The invitation is still unused: the right sign-in works.
    const ok = await signIn(svc.url, { appru: APPRU, user: 'ann@contoso.test', password: PW, extra: { accesstoken } });
    expect(ok.token).toBeTruthy();
  });
});

describe('ms-app: switched off', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ file: contosoFile({ appru: { schemes: [], allow: ['https://device.contoso.test/cb'] } }) });
  });
  afterAll(() => svc.close());

  it('ms-app:// is refused when appru.schemes is empty', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: APPRU }));
    expectErrorPage(res, html, 400, 'invalid_appru');
  });

  it('the allow-listed https address is accepted', async () => {
    const { res, html } = await get(svc.url, authPath({ appru: 'https://device.contoso.test/cb', login_hint: 'ann@contoso.test' }));
    expectSafePage(res, html);
    expect(res.status).toBe(200);
    expect(html).toContain('name="password"');
  });
});

describe('rate limits', () => {
  describe('authPerIp: 3', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService({ file: contosoFile({ limits: { authPerIp: 3, passwordPerUser: 10, passwordPerIp: 30 } }) });
    });
    afterAll(() => svc.close());

    it('the fourth sign-in started within a minute → 429 too_many_requests page; a minute later it works again', async () => {
      for (let i = 0; i < 3; i++) {
        const { res } = await get(svc.url, authPath({ appru: APPRU, login_hint: 'ann@contoso.test' }));
        expect(res.status).toBe(200);
      }
      const spy = vi.spyOn(svc.service.deps.store, 'putTransaction');
      const { res, html } = await get(svc.url, authPath({ appru: APPRU, login_hint: 'ann@contoso.test' }));
      expectErrorPage(res, html, 429, 'too_many_requests');
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
      // trustProxy is off: a forged X-Forwarded-For does not make a new client.
      const spoofed = await get(svc.url, authPath({ appru: APPRU }), { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expectErrorPage(spoofed.res, spoofed.html, 429, 'too_many_requests');
      svc.clock.advance(61_000);
      expect((await get(svc.url, authPath({ appru: APPRU }))).res.status).toBe(200);
    });
  });

  describe('behind a trusted proxy (server.trustProxy: true)', () => {
    let svc: TestService;
    beforeAll(async () => {
      const file = contosoFile({ limits: { authPerIp: 2, passwordPerUser: 10, passwordPerIp: 30 } });
      (file.server as Record<string, unknown>).trustProxy = true;
      svc = await startService({ file });
    });
    afterAll(() => svc.close());

    it('the client is the address the proxy appended; a forged leftmost entry does not make a new client', async () => {
      const via = (forged: string, real: string) =>
        get(svc.url, authPath({ appru: APPRU }), { headers: { 'x-forwarded-for': `${forged}, ${real}` } });
      expect((await via('198.51.100.1', '203.0.113.7')).res.status).toBe(200);
      expect((await via('198.51.100.2', '203.0.113.7')).res.status).toBe(200);
      const third = await via('198.51.100.3', '203.0.113.7');
      expectErrorPage(third.res, third.html, 429, 'too_many_requests');
      // Another real client behind the same proxy is counted on its own.
      expect((await via('198.51.100.3', '203.0.113.8')).res.status).toBe(200);
    });
  });

  describe('passwordPerUser: 2', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService({ file: contosoFile({ limits: { authPerIp: 600, passwordPerUser: 2, passwordPerIp: 100 } }) });
    });
    afterAll(() => svc.close());

    it('after two wrong passwords for a user, even the right one → 429 too_many_attempts; other users unaffected', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'ann@contoso.test' });
      for (let i = 0; i < 2; i++) {
        const { res } = await get(svc.url, '/auth/password', form({ state, username: 'ann@contoso.test', password: 'wrong' }));
        expect(res.status).toBe(401);
      }
      const blocked = await get(svc.url, '/auth/password', form({ state, username: 'ANN@contoso.test', password: PW }));
      expectErrorPage(blocked.res, blocked.html, 429, 'too_many_attempts');

      const other = await signIn(svc.url, { appru: APPRU, hint: 'ben@contoso.test', user: 'ben@contoso.test', password: PW });
      expect(other.token).toBeTruthy();

      svc.clock.advance(61_000);
      const again = await signIn(svc.url, { appru: APPRU, hint: 'ann@contoso.test', user: 'ann@contoso.test', password: PW });
      expect(again.token).toBeTruthy();
    });

    it('an unknown user is limited exactly like a known one (no existence oracle)', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'ann@contoso.test' });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await get(svc.url, '/auth/password', form({ state, username: 'nobody@contoso.test', password: 'wrong' }))).res.status);
      }
      expect(statuses).toEqual([401, 401, 429]);
    });
  });

  describe('passwordPerIp: 3', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService({ file: contosoFile({ limits: { authPerIp: 600, passwordPerUser: 100, passwordPerIp: 3 } }) });
    });
    afterAll(() => svc.close());

    it('wrong passwords for different users from one address → 429 after the third', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'ann@contoso.test' });
      const users = ['ann@contoso.test', 'ben@contoso.test', 'nobody@contoso.test', 'ben@contoso.test'];
      const results = [];
      for (const username of users) results.push(await get(svc.url, '/auth/password', form({ state, username, password: 'wrong' })));
      expect(results.map((r) => r.res.status)).toEqual([401, 401, 401, 429]);
      expectErrorPage(results[3].res, results[3].html, 429, 'too_many_attempts');
    });
  });

  describe('limits of 0 are off', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService({ file: contosoFile({ limits: { authPerIp: 0, passwordPerUser: 0, passwordPerIp: 0 } }) });
    });
    afterAll(() => svc.close());

    it('authPerIp: 0 lets 30 sign-ins start in one minute', async () => {
      for (let i = 0; i < 30; i++) {
        expect((await get(svc.url, authPath({ appru: APPRU }))).res.status).toBe(200);
      }
    });

    it('passwordPerUser: 0 and passwordPerIp: 0 let 12 wrong passwords through, then the right one works', async () => {
      const state = await startState(svc.url, { appru: APPRU, login_hint: 'ann@contoso.test' });
      for (let i = 0; i < 12; i++) {
        const { res } = await get(svc.url, '/auth/password', form({ state, username: 'ann@contoso.test', password: 'wrong' }));
        expect(res.status).toBe(401);
      }
      const ok = await get(svc.url, '/auth/password', form({ state, username: 'ann@contoso.test', password: PW }));
      expect(hiddenValue(ok.html, 'wresult')).toBeTruthy();
    });
  });
});

describe('requests Node refuses before the app sees them', () => {
  let plain: TestService;
  beforeAll(async () => {
    plain = await startService();
  });
  afterAll(() => plain.close());

  it('a query over Node\'s 16 KiB header limit gets 431 with no-store and a CSP, not a bare status line', async () => {
    const res = await fetch(`${plain.url}/auth?appru=${'a'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+';/);
    // The branded error page (test/http/refused-page.test.ts covers its languages).
    expect(await res.text()).toContain('<h1>The request is too large</h1>');
  });

  it('malformed HTTP gets a 400 page and the server keeps serving', async () => {
    const { port } = new URL(plain.url);
    const raw = await new Promise<string>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.write('GET /auth HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let data = '';
      sock.on('data', (d) => (data += d));
      sock.on('close', () => resolve(data));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(raw).toContain('Cache-Control: no-store');
    expect((await fetch(`${plain.url}/healthz`)).status).toBe(200);
  });
});
