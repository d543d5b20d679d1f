/**
 * The console's pages over HTTP (docs/console.md): tenants with their IdP and health, the
 * branding preview (the real email page, edited, frameable only by the console), activity from
 * the audit log after real sign-ins, invitations issued (link shown once, QR code), listed and
 * revoked, and every action audited as console.<action>.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntities, signIn } from '../helpers/html.js';
import type { TestService } from '../helpers/service.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { ConsoleClient, PASSWORD, startConsoleService } from './helpers.js';

let svc: TestService;
let c: ConsoleClient;
let csrf: string;

beforeAll(async () => {
  svc = await startConsoleService({ extra: { appru: { allow: ['http://127.0.0.1:{{PORT}}/device-return'] } } });
  c = new ConsoleClient(svc.url);
  expect((await c.signIn()).status).toBe(303);
  csrf = await c.csrf();
});
afterAll(() => svc?.close());

async function auditOf(type: string) {
  await svc.service.deps.audit.flush();
  return (await svc.service.deps.store.queryAudit({ limit: 100, type })).events;
}

describe('tenants', () => {
  it('lists every tenant with its IdP kind, source and IdP health', async () => {
    const res = await c.get('/admin/tenants');
    expect(res.status).toBe(200);
    const html = await res.text();
    const row = /<tr id="tenant-acme">([\s\S]*?)<\/tr>/.exec(html)![1];
    expect(row).toContain('Acme Corp');
    expect(row).toContain('acme.test');
    expect(row).toContain('local <code>acme-local</code>');
    expect(row).toContain('Configuration file');
    // The local IdP test: it has users.
    expect(row).toMatch(/<span class="ok">OK<\/span>[\s\S]*users — 2 users/);
    expect(html).toContain('href="/admin/tenants/globex/branding"');
  });
});

describe('tenant health', () => {
  it('shows an unreachable IdP as failed, with what failed', async () => {
    const own = await startConsoleService({
      extra: {
        tenants: [
          { id: 'deadidp', displayName: 'Dead IdP', domains: ['dead.test'], idp: { kind: 'oidc', id: 'dead', issuer: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 'dead-idp-secret-0123456789', timeoutMs: 2000 } },
        ],
      },
    });
    try {
      const oc = new ConsoleClient(own.url);
      await oc.signIn();
      // A test still running after the page's wait shows "still checking"; a later visit has the result.
      let row = '';
      for (let i = 0; i < 40; i++) {
        const html = await (await oc.get('/admin/tenants')).text();
        row = /<tr id="tenant-deadidp">([\s\S]*?)<\/tr>/.exec(html)![1];
        if (!row.includes('Still checking')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(row).toContain('oidc <code>dead</code>');
      expect(row).toContain('<span class="bad">Problems</span>');
      expect(row).toMatch(/<span class="bad">Failed:<\/span> discovery/);
      expect(row).not.toContain('dead-idp-secret');
    } finally {
      await own.close();
    }
  });
});

describe('branding preview', () => {
  it('is the real email page with the edited branding, frameable by the console only, its form going nowhere', async () => {
    const q = new URLSearchParams({ primaryColor: '#aa3300', signInText: 'Hello from the preview', supportEmail: 'help@acme.test', defaultLocale: 'de' });
    const res = await c.get(`/admin/tenants/acme/preview?${q}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('#aa3300');
    expect(html).toContain('Hello from the preview');
    expect(html).toContain('mailto:help@acme.test');
    expect(html).toContain('<html lang="de"');
    expect(html).toMatch(/<form method="post" action="\/auth\/email"/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toContain("form-action 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('leaves out what the config would refuse (markup, script URLs, http://)', async () => {
    const q = new URLSearchParams({ primaryColor: 'red;}</style><script>alert(1)</script>', logoUrl: 'javascript:alert(1)', supportUrl: 'http://evil.example/' });
    const html = await (await c.get(`/admin/tenants/acme/preview?${q}`)).text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('evil.example');
    expect(html).toContain('#0067b8'); // the tenant's own colour stays
  });

  it('the branding page frames the preview and lists what is wrong with an edit', async () => {
    const page = await c.get('/admin/tenants/acme/branding');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-src 'self'");
    const html = await page.text();
    expect(html).toMatch(/<iframe class="preview" id="preview" title="[^"]+" sandbox src="\/admin\/tenants\/acme\/preview\?/);
    expect(html).toMatch(/<script nonce="[^"]+">/);
    // A config-file tenant cannot be saved from here.
    expect(html).not.toContain('id="save-button"');
    const res = await c.post('/admin/tenants/acme/branding', { _csrf: csrf, action: 'save', primaryColor: 'blue', logoUrl: '', signInText: '', supportEmail: '', supportUrl: '', privacyUrl: '', termsUrl: '', defaultLocale: '' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/id="f-primaryColor" name="primaryColor" value="blue"[^>]*aria-invalid="true"/);
  });

  it('a store tenant is saved through the tenant directory, and the edit is audited', async () => {
    const deps = svc.service.deps;
    await deps.directory.create(
      { id: 'initech', displayName: 'Initech', domains: ['initech.test'], idp: { kind: 'local', id: 'initech-local', users: [{ upn: 'ian@initech.test', name: 'Ian', passwordHash: hashPasswordSync(PASSWORD) }] } },
      Date.now(),
    );
    const page = await (await c.get('/admin/tenants/initech/branding')).text();
    expect(page).toContain('id="save-button"');
    const form = { _csrf: csrf, action: 'save', primaryColor: '#123456', logoUrl: '', signInText: 'Initech staff only', supportEmail: '', supportUrl: 'https://help.initech.test/', privacyUrl: '', termsUrl: '', defaultLocale: 'fr' };
    // "Update preview" changes nothing.
    expect((await c.post('/admin/tenants/initech/branding', { ...form, action: 'preview' })).status).toBe(200);
    expect(deps.directory.current().tenants.get('initech')!.config.branding.primaryColor).toBeUndefined();
    const res = await c.post('/admin/tenants/initech/branding', form);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/tenants/initech/branding?saved=1');
    expect(deps.directory.current().tenants.get('initech')!.config.branding).toMatchObject({
      primaryColor: '#123456',
      signInText: 'Initech staff only',
      supportUrl: 'https://help.initech.test/',
      defaultLocale: 'fr',
    });
    // The secret the console never saw is kept.
    expect((deps.directory.current().tenants.get('initech')!.config.idp as { users: Array<{ passwordHash: string }> }).users[0].passwordHash).toMatch(/^scrypt\$/);
    expect((await auditOf('console.branding_saved')).at(-1)).toMatchObject({ tenantId: 'initech' });
    // Emptied again, a setting is removed.
    expect((await c.post('/admin/tenants/initech/branding', { ...form, signInText: '' })).status).toBe(303);
    expect(deps.directory.current().tenants.get('initech')!.config.branding.signInText).toBeUndefined();
    const list = await (await c.get('/admin/tenants')).text();
    expect(/<tr id="tenant-initech">([\s\S]*?)<\/tr>/.exec(list)![1]).toContain('Admin API (store)');
  });

  it('any other console address is a 404 page; the admin API keeps its JSON', async () => {
    for (const path of ['/admin/nope', '/admin/tenants/acme', '/admin/tenants/acme/branding/x']) {
      const res = await c.get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain('<code>not_found</code>');
    }
    const api = await c.get('/admin/api/v1/nope');
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('an unknown tenant is a 404 page, not JSON', async () => {
    const res = await c.get('/admin/tenants/nope/branding');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<code>unknown_tenant</code>');
  });
});

describe('activity', () => {
  it('shows real sign-ins and failures with their reason codes and request ids, filtered by tenant and type', async () => {
    const appru = `${svc.url}/device-return`;
    const ok = await signIn(svc.url, { appru, hint: 'ann@acme.test', user: 'ann@acme.test', password: PASSWORD });
    expect(ok.token).toBeTruthy();
    const okId = ok.res.headers.get('x-request-id')!;
    const bad = await signIn(svc.url, { appru, hint: 'gil@globex.test', user: 'gil@globex.test', password: 'wrong' });
    expect(bad.token).toBeNull();
    const badId = bad.res.headers.get('x-request-id')!;
    await svc.service.deps.audit.flush();

    const all = await (await c.get('/admin/activity')).text();
    expect(all).toContain(okId);
    expect(all).toContain(badId);
    expect(all).toContain('<code>signin.ok</code>');
    expect(all).toContain('<code>signin.password_failed</code>');

    const acme = await (await c.get('/admin/activity?tenant=acme&type=signin.ok')).text();
    expect(acme).toContain(okId);
    expect(acme).not.toContain(badId);
    expect(acme).not.toContain('<code>signin.start</code>');

    const failures = await (await c.get('/admin/activity?tenant=globex&type=signin.password_failed')).text();
    expect(failures).toContain(badId);
    expect(failures).not.toContain(okId);
  });

  it('shows a refused sign-in with its reason code', async () => {
    await svc.service.deps.store.appendAudit([
      { at: Date.now(), type: 'signin.refused', tenantId: 'acme', subject: 'bob@acme.test', requestId: 'req-refused-0001', detail: { code: 'not_in_group' } },
    ]);
    const html = await (await c.get('/admin/activity?type=signin.refused')).text();
    const row = /<tr>\s*<td class="mono">[^<]*<\/td>\s*<td><code>signin\.refused<\/code>[\s\S]*?<\/tr>/.exec(html)![0];
    expect(row).toContain('<code>not_in_group</code>');
    expect(row).toContain('req-refused-0001');
  });

  it('pages through older events with the store cursor, each event once', async () => {
    const base = Date.now() - 3_600_000;
    await svc.service.deps.store.appendAudit(
      Array.from({ length: 63 }, (_, i) => ({ at: base + i, type: 'test.paging', tenantId: 'acme', requestId: `req-paging-${String(i).padStart(4, '0')}` })),
    );
    const ids = (html: string) => [...html.matchAll(/req-paging-\d{4}/g)].map((m) => m[0]);
    const first = await (await c.get('/admin/activity?type=test.paging')).text();
    expect(ids(first)).toHaveLength(50);
    expect(ids(first)[0]).toBe('req-paging-0062');
    const older = decodeEntities(/<a href="([^"]+)" id="older">/.exec(first)![1]);
    expect(older).toMatch(/^\/admin\/activity\?type=test\.paging&cursor=/);
    const second = await (await c.get(older)).text();
    expect(ids(second)).toHaveLength(13);
    expect(ids(second).at(-1)).toBe('req-paging-0000');
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(63);
    expect(second).not.toContain('id="older"');
    // A cursor the page did not hand out (garbage, or another filter's) is a clear 400, not a 500.
    for (const bad of ['garbage', older.split('cursor=')[1] + 'x']) {
      const res = await c.get(`/admin/activity?type=signin.ok&cursor=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(await res.text()).toContain('cursor is not a cursor of this page');
    }
  });

  it('refuses a malformed filter with a message, never echoing markup', async () => {
    const res = await c.get(`/admin/activity?tenant=${encodeURIComponent('<b>x</b>')}`);
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('tenant is not a tenant id');
    expect(html).not.toContain('<b>x</b>');
  });
});

describe('invitations', () => {
  it('creates one (link shown once, with a QR code), lists it, revokes it; every action audited', async () => {
    const res = await c.post('/admin/invitations', { _csrf: csrf, tenant: 'globex', upn: 'gil@globex.test', ownership: '3', ttl: '86400', servername: 'mdm.globex.test' });
    expect(res.status).toBe(201);
    const html = await res.text();
    const link = decodeEntities(/<textarea id="created-link"[^>]*>([^<]+)<\/textarea>/.exec(html)![1]);
    expect(link).toMatch(/^ms-device-enrollment:\?mode=mdm&username=gil%40globex\.test&servername=mdm\.globex\.test&accesstoken=[A-Za-z0-9_-]{43}&ownership=3$/);
    expect(html).toMatch(/<svg role="img" aria-label="QR code of the enrollment link for gil@globex.test" class="qr" [^>]*viewBox="0 0 \d+ \d+"/);
    expect(html).toMatch(/<path [^>]*d="M/);
    expect(res.headers.get('cache-control')).toBe('no-store');

    // Stored: only the hash, listed without the link.
    const stored = await svc.service.deps.store.listInvitations({ now: Date.now(), limit: 100, tenantId: 'globex' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ upn: 'gil@globex.test', ownership: 3, usedAt: null });
    const list = await (await c.get('/admin/invitations')).text();
    expect(list).toContain(`data-id="${stored[0].id}"`);
    expect(list).not.toContain('accesstoken=');
    expect(list).not.toContain('id="created-link"');

    const revoke = await c.post(`/admin/invitations/${stored[0].id}/revoke`, { _csrf: csrf });
    expect(revoke.status).toBe(303);
    expect(revoke.headers.get('location')).toBe('/admin/invitations?done=revoked');
    expect(await svc.service.deps.store.getInvitation(stored[0].id, Date.now())).toBeNull();
    const after = await (await c.get('/admin/invitations?done=revoked')).text();
    expect(after).toContain('The invitation was revoked.');
    expect(after).not.toContain(`data-id="${stored[0].id}"`);
    // Revoking it again: already gone.
    expect((await c.post(`/admin/invitations/${stored[0].id}/revoke`, { _csrf: csrf })).headers.get('location')).toBe('/admin/invitations?done=gone');

    const created = await auditOf('console.invitation_created');
    expect(created.at(-1)).toMatchObject({ tenantId: 'globex', subject: 'gil@globex.test', detail: { id: stored[0].id } });
    expect(JSON.stringify(created)).not.toContain(link.split('accesstoken=')[1]);
    const revoked = await auditOf('console.invitation_revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ tenantId: 'globex', detail: { id: stored[0].id } });
    expect((await auditOf('console.signin')).length).toBeGreaterThan(0);
  });

  it('a refused invitation says why (the code and its meaning) and stores nothing', async () => {
    const before = (await svc.service.deps.store.listInvitations({ now: Date.now(), limit: 100 })).length;
    const cases: Array<[Record<string, string>, string]> = [
      [{ tenant: 'acme', upn: 'gil@globex.test', ttl: '3600', servername: 'mdm.acme.test' }, 'upn_not_in_tenant'],
      [{ tenant: 'acme', upn: 'not-an-email', ttl: '3600', servername: 'mdm.acme.test' }, 'invalid_upn'],
      [{ tenant: 'nope', upn: 'ann@acme.test', ttl: '3600', servername: 'mdm.acme.test' }, 'unknown_tenant'],
      [{ tenant: 'acme', upn: 'ann@acme.test', ttl: '999999999', servername: 'mdm.acme.test' }, 'invalid_ttl'],
      [{ tenant: 'acme', upn: 'ann@acme.test', ttl: '3600', servername: '' }, 'servername_required'],
      [{ tenant: 'acme', upn: 'ann@acme.test', ttl: '3600', ownership: '7', servername: 'mdm.acme.test' }, 'invalid_ownership'],
    ];
    for (const [form, code] of cases) {
      const res = await c.post('/admin/invitations', { _csrf: csrf, ...form });
      expect(res.status, code).toBe(400);
      const html = await res.text();
      expect(html, code).toContain(`<code>${code}</code>`);
      expect(html, code).not.toContain('ms-device-enrollment:');
    }
    expect((await svc.service.deps.store.listInvitations({ now: Date.now(), limit: 100 })).length).toBe(before);
  });
});
