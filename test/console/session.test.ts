/**
 * The console's sign-in, session cookie and CSRF rules over HTTP (docs/console.md): what a
 * browser without a session, with a wrong token, with a stolen or stale cookie, or on another
 * site's page gets.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, TestClock, type TestService } from '../helpers/service.js';
import { ADMIN_TOKEN, ConsoleClient, consoleConfig, consoleCookie, startConsoleService } from './helpers.js';

let svc: TestService;
const clock = new TestClock();

beforeAll(async () => {
  svc = await startConsoleService({ clock });
});
afterAll(() => svc?.close());

describe('signing in', () => {
  it('without a session, every console page leads to the sign-in form', async () => {
    const c = new ConsoleClient(svc.url);
    for (const path of ['/admin/tenants', '/admin/activity', '/admin/invitations', '/admin/tenants/acme/branding', '/admin/tenants/acme/preview']) {
      const res = await c.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location'), path).toBe('/admin');
    }
    const page = await c.get('/admin');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/admin\/sign-in">/);
    expect(html).toMatch(/<input type="password" id="token" name="token"/);
    expect(html).not.toContain('Acme Corp');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(consoleCookie(page)).toBeNull();
  });

  it('a wrong token is refused with the form again and no cookie', async () => {
    const c = new ConsoleClient(svc.url);
    const res = await c.signIn('not-the-admin-token-at-all');
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).not.toContain('not-the-admin-token-at-all');
    // An empty or oversized token is the same refusal.
    expect((await c.signIn('')).status).toBe(401);
    expect((await c.signIn('x'.repeat(5000))).status).toBe(401);
    expect(c.cookie).toBeNull();
  });

  it('the right token gives an HttpOnly, SameSite=Strict cookie for /admin, 30 minutes, not Secure on http', async () => {
    const c = new ConsoleClient(svc.url);
    const res = await c.signIn();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/tenants');
    const set = res.headers.getSetCookie().find((h) => h.startsWith('fb_console='))!;
    const attrs = set.split('; ').slice(1);
    expect(attrs).toEqual(expect.arrayContaining(['Path=/admin', 'HttpOnly', 'SameSite=Strict', 'Max-Age=1800']));
    expect(attrs).not.toContain('Secure');
    // The cookie holds no token: an id, two times and a MAC.
    expect(set).not.toContain(ADMIN_TOKEN);
    const page = await c.get('/admin/tenants');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Acme Corp');
    // Signed in, /admin goes to the tenants.
    expect((await c.get('/admin')).headers.get('location')).toBe('/admin/tenants');
  });

  it('a cookie with a changed expiry or MAC is no session', async () => {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    const [name, value] = c.cookie!.split('=');
    const [id, iat, exp, mac] = value.split('.');
    const later = (parseInt(exp, 36) + 3_600_000).toString(36);
    for (const forged of [`${id}.${iat}.${later}.${mac}`, `${id}.${iat}.${exp}.${mac.slice(0, -2)}AA`, `${id}.${iat}.${exp}`]) {
      const res = await fetch(`${svc.url}/admin/tenants`, { redirect: 'manual', headers: { cookie: `${name}=${forged}` } });
      expect(res.status, forged).toBe(303);
    }
  });

  it('sign-out ends the session on the server: the old cookie no longer works', async () => {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    const stolen = c.cookie!;
    const csrf = await c.csrf();
    const res = await c.post('/admin/sign-out', { _csrf: csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin?signed_out=1');
    const cleared = res.headers.getSetCookie().filter((h) => h.startsWith('fb_console='));
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatch(/^fb_console=; Path=\/admin; Max-Age=0/);
    const again = await fetch(`${svc.url}/admin/tenants`, { redirect: 'manual', headers: { cookie: stolen } });
    expect(again.status).toBe(303);    // Audited: the sign-in and sign-out of one session carry the same session tag, not the id.
    await svc.service.deps.audit.flush();
    const [out] = (await svc.service.deps.store.queryAudit({ limit: 1, type: 'console.signout' })).events;
    const tag = (out.detail as { session: string }).session;
    expect(tag).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(stolen).not.toContain(tag);
    const signins = (await svc.service.deps.store.queryAudit({ limit: 100, type: 'console.signin' })).events;
    expect(signins.filter((e) => (e.detail as { session: string }).session === tag)).toHaveLength(1);
  });

  it('too many sign-in attempts from one network are refused (429), even with the right token', async () => {
    const own = await startConsoleService();
    try {
      const c = new ConsoleClient(own.url);
      // A right token gives its slot back; wrong ones keep theirs.
      expect((await c.signIn()).status).toBe(303);
      for (let i = 0; i < 10; i++) expect((await c.signIn('wrong-token-wrong-token')).status).toBe(401);
      c.cookie = null;
      const res = await c.signIn();
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(consoleCookie(res)).toBeNull();
      expect(await res.text()).toContain('too_many_attempts');
    } finally {
      await own.close();
    }
  });
});

describe('session expiry', () => {
  it('ends after 30 minutes without use; each use moves it', async () => {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    clock.advance(29 * 60_000);
    expect((await c.get('/admin/tenants')).status).toBe(200);
    clock.advance(29 * 60_000);
    // 58 minutes after sign-in, 29 after the last use: still signed in.
    expect((await c.get('/admin/tenants')).status).toBe(200);
    clock.advance(31 * 60_000);
    const res = await c.get('/admin/tenants');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
  });

  it('ends 12 hours after sign-in however busy', async () => {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    for (let i = 0; i < 24; i++) {
      clock.advance(29 * 60_000);
      expect((await c.get('/admin/tenants')).status, `after ${(i + 1) * 29} minutes`).toBe(200);
    }
    clock.advance(29 * 60_000); // 725 minutes
    expect((await c.get('/admin/tenants')).status).toBe(303);
  });
});

describe('the admin token', () => {
  it('another admin token ends every session: the same cookie works where the token is the same, not where it changed', async () => {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    const cookie = c.cookie!;
    const same = await startService({ file: consoleConfig(), clock });
    const changed = await startService({ file: consoleConfig({ admin: { token: 'another-admin-token-9876543210' } }), clock });
    try {
      const at = (s: TestService) => fetch(`${s.url}/admin/tenants`, { redirect: 'manual', headers: { cookie } });
      expect((await at(same)).status).toBe(200);
      const refused = await at(changed);
      expect(refused.status).toBe(303);
      expect(refused.headers.get('location')).toBe('/admin');
    } finally {
      await same.close();
      await changed.close();
    }
  });

  it('changing admin.token in the file of a running service (hot reload) ends every session', async () => {
    const own = await startConsoleService();
    try {
      const c = new ConsoleClient(own.url);
      await c.signIn();
      expect((await c.get('/admin/tenants')).status).toBe(200);
      const file = join(own.dir, 'config.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(ADMIN_TOKEN, 'a-new-admin-token-after-rotation'));
      expect(await own.service.deps.directory.reloadFile()).toEqual({ ok: true });
      const res = await c.get('/admin/tenants');
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/admin');
      // The old token no longer signs in; the new one does.
      expect((await c.signIn()).status).toBe(401);
      expect((await c.signIn('a-new-admin-token-after-rotation')).status).toBe(303);
      expect((await c.get('/admin/tenants')).status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('without admin.token there is no console (404), as there is no admin API', async () => {
    const demo = await startService();
    try {
      for (const [method, path] of [['GET', '/admin'], ['POST', '/admin/sign-in'], ['GET', '/admin/tenants']]) {
        const res = await fetch(`${demo.url}${path}`, { method, redirect: 'manual', headers: { origin: demo.url, 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? 'token=x' : undefined });
        expect(res.status, path).toBe(404);
        expect(consoleCookie(res)).toBeNull();
      }
    } finally {
      await demo.close();
    }
  });

  it('publicUrl on https makes the cookie Secure', async () => {
    const https = await startService({ file: consoleConfig({ server: { publicUrl: 'https://console.example' } }) });
    try {
      const res = await fetch(`${https.url}/admin/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://console.example' },
        body: new URLSearchParams({ token: ADMIN_TOKEN }),
      });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().find((h) => h.startsWith('fb_console='))!.split('; ')).toContain('Secure');
    } finally {
      await https.close();
    }
  });
});

describe('CSRF', () => {
  const invite = { tenant: 'acme', upn: 'ann@acme.test', ttl: '3600', ownership: '', servername: 'mdm.acme.test' };

  async function signedIn(): Promise<{ c: ConsoleClient; csrf: string }> {
    const c = new ConsoleClient(svc.url);
    await c.signIn();
    return { c, csrf: await c.csrf() };
  }

  async function expectRefused(res: Response): Promise<void> {
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('<code>csrf_failed</code>');
    expect(html).not.toContain('ms-device-enrollment:');
  }

  it('a form without the token, or with a wrong one, is refused (403 csrf_failed) and changes nothing', async () => {
    const { c } = await signedIn();
    const before = await svc.service.deps.store.listInvitations({ now: clock.now(), limit: 1000 });
    await expectRefused(await c.post('/admin/invitations', invite));
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: 'A'.repeat(43) }));
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: '' }));
    expect(await svc.service.deps.store.listInvitations({ now: clock.now(), limit: 1000 })).toHaveLength(before.length);
  });

  it("another session's token is refused", async () => {
    const a = await signedIn();
    const b = await signedIn();
    expect(a.csrf).not.toBe(b.csrf);
    await expectRefused(await a.c.post('/admin/invitations', { ...invite, _csrf: b.csrf }));
  });

  it('a cross-site post is refused even with the right token (Origin, Sec-Fetch-Site)', async () => {
    const { c, csrf } = await signedIn();
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: csrf }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }));
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: csrf }, { origin: 'https://evil.example' }));
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: csrf }, { 'sec-fetch-site': 'same-site' }));
    await expectRefused(await c.post('/admin/invitations', { ...invite, _csrf: csrf }, { origin: 'null' }));
    await expectRefused(await c.post('/admin/sign-out', { _csrf: csrf }, { origin: 'https://evil.example' }));
    // The sign-in form too: another site cannot sign a browser in.
    const res = await c.post('/admin/sign-in', { token: ADMIN_TOKEN }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(consoleCookie(res)).toBeNull();
  });

  it('a same-origin post with the session token works', async () => {
    const { c, csrf } = await signedIn();
    const res = await c.post('/admin/invitations', { ...invite, _csrf: csrf });
    expect(res.status).toBe(201);
    expect(await res.text()).toContain('ms-device-enrollment:?mode=mdm&amp;username=ann%40acme.test&amp;servername=mdm.acme.test&amp;accesstoken=');
  });
});
