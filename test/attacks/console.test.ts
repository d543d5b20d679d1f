/**
 * Attacks on the admin console (/admin) against a running service: cross-site posts (no Origin,
 * `Origin: null`, same-site, another origin), a CSRF token from another session, session
 * fixation, forged and stale cookies, framing, and markup smuggled in through tenant names,
 * sign-in text, invitation user names and audit event fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, ConsoleClient, consoleCookie, startConsoleService } from '../console/helpers.js';
import type { TestService } from '../helpers/service.js';

let svc: TestService;

const XSS = '<img src=x onerror=alert(1)>';
const XSS2 = '"><script>alert(2)</script>';

beforeAll(async () => {
  svc = await startConsoleService();
}, 60_000);
afterAll(async () => {
  await svc?.close();
});

async function signedIn(): Promise<ConsoleClient> {
  const c = new ConsoleClient(svc.url);
  const res = await c.signIn();
  expect(res.status).toBe(303);
  expect(c.cookie).not.toBeNull();
  return c;
}

/** The invitation list's length as the console shows it (rows with a data-id). */
async function invitationRows(c: ConsoleClient): Promise<number> {
  return ((await (await c.get('/admin/invitations')).text()).match(/<tr data-id=/g) ?? []).length;
}

describe('cross-site posts', () => {
  it('refuses a post with a valid session and token but a foreign Origin, Origin: null or a same-site/cross-site Sec-Fetch-Site', async () => {
    const c = await signedIn();
    const csrf = await c.csrf();
    const before = await invitationRows(c);
    const form = { _csrf: csrf, tenant: 'acme', upn: 'ann@acme.test', ownership: '', ttl: '3600', servername: 'mdm.example.com' };
    const hostile: Array<Record<string, string>> = [
      { origin: 'null' },
      { origin: 'https://evil.example' },
      { origin: svc.url.replace('127.0.0.1', 'localhost') },
      { origin: `${svc.url}.evil.example` },
      { origin: svc.url.replace('http:', 'https:') },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'none' },
    ];
    for (const h of hostile) {
      const res = await c.post('/admin/invitations', form, h);
      expect(res.status, JSON.stringify(h)).toBe(403);
      expect(await res.text()).toContain('csrf_failed');
    }
    expect(await invitationRows(c)).toBe(before);
  });

  it('refuses a post without the CSRF token, with a wrong one, or with another session’s', async () => {
    const a = await signedIn();
    const b = await signedIn();
    const tokenOfB = await b.csrf();
    const before = await invitationRows(a);
    const form = { tenant: 'acme', upn: 'ann@acme.test', ownership: '', ttl: '3600', servername: 'mdm.example.com' };
    for (const csrf of [undefined, '', 'x', tokenOfB, `${tokenOfB}x`, tokenOfB.toUpperCase()]) {
      const res = await a.post('/admin/invitations', csrf === undefined ? form : { ...form, _csrf: csrf });
      expect(res.status, String(csrf)).toBe(403);
    }
    // A second _csrf field cannot smuggle a good one past the check either.
    const twice = await fetch(`${svc.url}/admin/invitations`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: svc.url, 'sec-fetch-site': 'same-origin', cookie: a.cookie! },
      body: `_csrf=x&_csrf=${encodeURIComponent(await a.csrf())}&tenant=acme&upn=ann%40acme.test&ttl=3600&servername=mdm.example.com`,
    });
    expect(twice.status).toBe(403);
    expect(await invitationRows(a)).toBe(before);
  });

  it('refuses a cross-site sign-in (login CSRF) before the token is compared', async () => {
    for (const h of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }]) {
      const c = new ConsoleClient(svc.url);
      const res = await c.post('/admin/sign-in', { token: ADMIN_TOKEN }, h);
      expect(res.status, JSON.stringify(h)).toBe(403);
      expect(consoleCookie(res)).toBeNull();
    }
  });
});

describe('sessions', () => {
  it('signing in never keeps a cookie the browser brought (no fixation)', async () => {
    const victim = await signedIn();
    const planted = victim.cookie!;
    const c = new ConsoleClient(svc.url);
    c.cookie = planted;
    const res = await c.post('/admin/sign-in', { token: ADMIN_TOKEN });
    // Already signed in with that cookie or not, a fresh sign-in issues a new session id.
    const fresh = consoleCookie(res);
    expect(fresh).not.toBeNull();
    expect(fresh!.split('=')[1].split('.')[0]).not.toBe(planted.split('=')[1].split('.')[0]);
  });

  it('refuses forged, truncated, re-dated and foreign-key cookies', async () => {
    const c = await signedIn();
    const value = c.cookie!.split('=')[1];
    const [id, issued, expires, mac] = value.split('.');
    const far = (Date.now() + 365 * 86_400_000).toString(36);
    const forged = [
      `${id}.${issued}.${far}.${mac}`,
      `${id}.${issued}.${expires}`,
      `${id}.${issued}.${expires}.${'A'.repeat(43)}`,
      `${'B'.repeat(22)}.${issued}.${expires}.${mac}`,
      `${value}.extra`,
      ` ${value}`,
      'undefined',
    ];
    for (const f of forged) {
      const res = await fetch(`${svc.url}/admin/tenants`, { redirect: 'manual', headers: { cookie: `fb_console=${f}` } });
      expect(res.status, f).toBe(303);
      expect(res.headers.get('location')).toBe('/admin');
    }
  });

  it('a signed-out session’s copied cookie is dead', async () => {
    const c = await signedIn();
    const copy = c.cookie!;
    const csrf = await c.csrf();
    const out = await c.post('/admin/sign-out', { _csrf: csrf });
    expect(out.status).toBe(303);
    const res = await fetch(`${svc.url}/admin/tenants`, { redirect: 'manual', headers: { cookie: copy } });
    expect(res.status).toBe(303);
  });

  it('console pages cannot be framed; the preview only by the console itself', async () => {
    const c = await signedIn();
    const signInPage = await fetch(`${svc.url}/admin`);
    expect(signInPage.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    for (const path of ['/admin/tenants', '/admin/tenants/acme/branding', '/admin/activity', '/admin/invitations']) {
      const res = await c.get(path);
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
    }
    const preview = await c.get('/admin/tenants/acme/preview');
    expect(preview.status).toBe(200);
    const csp = preview.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'none'");
    // A logoUrl cannot write CSP directives: only its origin joins img-src.
    for (const logoUrl of ["https://evil.example/x;script-src * 'unsafe-inline'", 'https://evil.example/%3Bscript-src%20*', "https://evil.example' 'unsafe-inline"]) {
      const p = await c.get(`/admin/tenants/acme/preview?logoUrl=${encodeURIComponent(logoUrl)}`);
      const pcsp = p.headers.get('content-security-policy')!;
      expect(pcsp, logoUrl).not.toContain('unsafe-inline');
      expect(pcsp, logoUrl).not.toMatch(/script-src \*/);
      expect(pcsp.split(';').filter((d) => d.trim().startsWith('script-src')), logoUrl).toHaveLength(1);
    }
    // Without a session the preview is not served at all (so no other site can frame a signed-out copy).
    const anon = await fetch(`${svc.url}/admin/tenants/acme/preview`, { redirect: 'manual' });
    expect(anon.status).toBe(303);
  });
});

describe('markup smuggled into console pages', () => {
  it('tenant name, sign-in text, invitation user name and audit fields are shown as text', async () => {
    // A store tenant with hostile texts, through the admin API.
    const created = await fetch(`${svc.url}/admin/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'hostile',
        displayName: XSS + XSS2,
        domains: ['hostile.test'],
        branding: { signInText: XSS2 + XSS },
        idp: { kind: 'oidc', issuer: 'https://idp.hostile.test', clientId: 'c', clientSecret: 'hostile-secret-0123456789' },
      }),
    });
    expect(created.status).toBe(201);
    // Audit events whose free fields carry markup (any source may write them).
    svc.service.deps.audit.push({ at: Date.now(), type: `auth.failed${XSS}`, tenantId: `acme${XSS}`, subject: XSS2, ip: XSS, requestId: XSS2, detail: { code: XSS, error: XSS2 } });
    await svc.service.deps.audit.flush();

    const c = await signedIn();
    const csrf = await c.csrf();
    // An invitation for a user name with markup (refused or shown as text, never as markup).
    const inv = await c.post('/admin/invitations', { _csrf: csrf, tenant: 'acme', upn: `"><svg onload=alert(3)>@acme.test`, ownership: '', ttl: '3600', servername: 'mdm.example.com' });
    const pages = [
      await inv.text(),
      await (await c.get('/admin/tenants')).text(),
      await (await c.get('/admin/tenants/hostile/branding')).text(),
      await (await c.get(`/admin/tenants/hostile/preview?signInText=${encodeURIComponent(XSS)}`)).text(),
      await (await c.get('/admin/activity')).text(),
      await (await c.get(`/admin/activity?type=${encodeURIComponent(XSS)}&tenant=${encodeURIComponent(XSS2)}`)).text(),
      await (await c.get('/admin/invitations')).text(),
      await (await fetch(`${svc.url}/t/hostile/auth?appru=${encodeURIComponent('ms-app://windows.immersivecontrolpanel')}`)).text(),
    ];
    for (const html of pages) {
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<svg onload');
      expect(html).not.toContain('hostile-secret-0123456789');
    }
    // The texts are there, escaped (the console list, the preview and the real sign-in page).
    expect(pages[1]).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[3]).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[7]).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(pages[7]).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });
});

describe('a changed admin token', () => {
  it('ends every console session and its CSRF token at once (last: it changes the token)', async () => {
    const c = await signedIn();
    const csrf = await c.csrf();
    const old = c.cookie!;
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const file = join(svc.dir, 'config.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(ADMIN_TOKEN, 'another-admin-token-0123456789abcdef'));
    expect(await svc.service.deps.directory.reloadFile()).toEqual({ ok: true });
    const page = await c.get('/admin/tenants');
    expect(page.status).toBe(303);
    const post = await fetch(`${svc.url}/admin/invitations`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: svc.url, 'sec-fetch-site': 'same-origin', cookie: old },
      body: new URLSearchParams({ _csrf: csrf, tenant: 'acme', upn: 'ann@acme.test', ttl: '3600', servername: 'mdm.example.com' }),
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toBe('/admin');
    // The old token no longer signs in; the new one does.
    expect((await new ConsoleClient(svc.url).signIn()).status).toBe(401);
    expect((await new ConsoleClient(svc.url).signIn('another-admin-token-0123456789abcdef')).status).toBe(303);
  });
});

describe('guessing the admin token at the console', () => {
  it('after 10 wrong tokens a minute from one network even the right one is refused (429), and no guess is echoed', async () => {
    const own = await startConsoleService();
    try {
      for (let i = 0; i < 10; i++) {
        const res = await new ConsoleClient(own.url).signIn(`wrong-guess-${i}-0123456789`);
        expect(res.status).toBe(401);
        expect(await res.text()).not.toContain(`wrong-guess-${i}`);
      }
      const right = await new ConsoleClient(own.url).signIn();
      expect(right.status).toBe(429);
      expect(consoleCookie(right)).toBeNull();
    } finally {
      await own.close();
    }
  }, 60_000);
});
