/**
 * A tenant's branding on every page (docs/branding.md): name, logo (uploaded, else logoUrl, else
 * none), colour with a readable button text, sign-in text, support contact, privacy and terms
 * links; the CSP allowing the logo; and the neutral look of pages without a tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import type { TenantConfig } from '../../src/config/schema.js';
import type { AppDeps } from '../../src/http/deps.js';
import { sendPage } from '../../src/http/respond.js';
import { DEFAULT_COLOR, UploadedLogos, Views, textOn } from '../../src/http/views.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { decodeEntities } from '../helpers/html.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';

const APPRU = 'ms-app://windows.immersivecontrolpanel';
const HASH = hashPasswordSync('pw-pw-pw-pw');
const BRANDING = {
  logoUrl: 'https://cdn.contoso.test/logo.svg',
  primaryColor: '#5c2d91',
  signInText: 'Use your Contoso account.',
  supportEmail: 'helpdesk@contoso.test',
  supportUrl: 'https://help.contoso.test/enroll',
  privacyUrl: 'https://contoso.test/privacy',
  termsUrl: 'https://contoso.test/terms',
};

function local(id: string, domain: string, branding: Record<string, unknown>, displayName = `${id} org`) {
  return { id, displayName, domains: [domain], branding, idp: { kind: 'local', users: [{ upn: `ann@${domain}`, passwordHash: HASH }] } };
}

const contoso = { id: 'contoso', displayName: 'Contoso Ltd', branding: BRANDING } as unknown as TenantConfig;

function cspOf(csp: string, directive: string): string[] {
  const part = csp.split(';').map((p) => p.trim()).find((p) => p.startsWith(`${directive} `));
  return part ? part.split(' ').slice(1) : [];
}

describe('the view: what a page shows for a tenant and without one', () => {
  const views = new Views();
  const render = (tenant: TenantConfig | null, uploadedLogo?: string | null, template = 'email') =>
    views.render(template, { locale: 'en', tenant, demo: false, uploadedLogo, data: { state: 's', email: '', requestId: 'req-1', code: 'invalid_appru', title: 'T', message: 'M', advice: 'A' } });

  it.each(['email', 'password', 'error'])('%s page: name, logoUrl, colour, sign-in text, support, privacy and terms', (template) => {
    const { html, csp } = render(contoso, null, template);
    const text = decodeEntities(html);
    expect(text).toContain('<span id="org">Contoso Ltd</span>');
    expect(text).toContain('<img src="https://cdn.contoso.test/logo.svg" alt="" id="logo">');
    expect(text).toContain('--brand: #5c2d91; --on-brand: #ffffff;');
    expect(text).toContain('id="signin-text">Use your Contoso account.</p>');
    expect(text).toContain('<a href="https://help.contoso.test/enroll">');
    expect(text).toContain('<a href="mailto:helpdesk@contoso.test">');
    expect(text).toContain('<a href="https://contoso.test/privacy" id="privacy">Privacy</a>');
    expect(text).toContain('<a href="https://contoso.test/terms" id="terms">Terms of use</a>');
    expect(text).toMatch(/<title>[^<]+ · Contoso Ltd<\/title>/);
    expect(cspOf(csp, 'img-src')).toEqual(["'self'", 'data:', 'https://cdn.contoso.test']);
  });

  it('an uploaded logo wins over logoUrl: served by /t/<tenant>/logo (same origin), its ETag in the address', () => {
    const { html, csp } = render(contoso, 'W/"abc 1"');
    expect(html).toContain(`<img src="/t/contoso/logo?v=${encodeURIComponent('W/"abc 1"')}" alt="" id="logo">`);
    expect(html).not.toContain('cdn.contoso.test');
    expect(cspOf(csp, 'img-src')).toEqual(["'self'", 'data:']);
  });

  it('a tenant with no logo at all shows its name and no image', () => {
    const plain = { id: 'plain', displayName: 'Plain Org', branding: {} } as unknown as TenantConfig;
    const { html } = render(plain);
    expect(html).not.toContain('<img');
    expect(html).toContain('<span id="org">Plain Org</span>');
    expect(html).not.toContain('<footer');
    expect(html).not.toContain('id="support"');
  });

  it('without a tenant the page is neutral: product name and colour, no logo, texts or links of any tenant', () => {
    const { html, csp } = render(null, 'etag-ignored', 'error');
    expect(html).toContain('<span id="org">Fedbridge</span>');
    expect(html).toContain(`--brand: ${DEFAULT_COLOR}; --on-brand: #ffffff;`);
    for (const absent of ['<img', '<footer', 'id="signin-text"', 'id="support"', '/t/', 'contoso']) expect(html).not.toContain(absent);
    expect(cspOf(csp, 'img-src')).toEqual(["'self'", 'data:']);
  });

  it('a tenant\'s texts are escaped on the page (no markup from the config)', () => {
    const evil = { id: 'x', displayName: '<b>X</b>', branding: { signInText: '<script>alert(1)</script>' } } as unknown as TenantConfig;
    const { html } = render(evil);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>X</b>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('the window title names the organization, once', () => {
    expect(render(contoso).html).toContain('<title>Sign in to enroll this device · Contoso Ltd</title>');
    expect(render(null).html).toContain('<title>Sign in to enroll this device · Fedbridge</title>');
    expect(render(null, null, 'home').html).toContain('<title>Fedbridge</title>');
  });

  it('the request id on an error page sits in its own element (screenshots hide it)', () => {
    expect(render(null, null, 'error').html).toContain('<span class="request-id">req-1</span>');
  });

  it('button text: white on dark colours, near-black on light ones (whichever contrasts more)', () => {
    expect(textOn('#0067b8')).toBe('#ffffff');
    expect(textOn('#5c2d91')).toBe('#ffffff');
    expect(textOn('#000')).toBe('#ffffff');
    expect(textOn('#ffeb3b')).toBe('#1b1b1b');
    expect(textOn('#fff')).toBe('#1b1b1b');
    expect(textOn('#7fdbff')).toBe('#1b1b1b');
  });

  it('inputs and buttons take the page font', () => {
    expect(render(null).html).toMatch(/input, button, select, textarea \{ font: inherit; \}/);
  });
});

describe('UploadedLogos: what the pages know about uploaded logos', () => {
  it('looks in the background: unknown at first, then the ETag; looks again only when the last look is old', async () => {
    let now = 0;
    const logos = new UploadedLogos(5000, () => now);
    let calls = 0;
    let etag: string | null = 'e1';
    const lookup = async () => {
      calls++;
      return etag ? { etag } : null;
    };
    expect(logos.get('t', lookup)).toBeUndefined();
    await logos.settled();
    expect(logos.get('t', lookup)).toBe('e1');
    expect(calls).toBe(1);
    etag = 'e2';
    now = 4000;
    expect(logos.get('t', lookup)).toBe('e1');
    await logos.settled();
    expect(calls).toBe(1);
    now = 5001;
    expect(logos.get('t', lookup)).toBe('e1'); // this page still shows the old one, the next the new one
    await logos.settled();
    expect(logos.get('t', lookup)).toBe('e2');
    etag = null;
    now = 20000;
    logos.get('t', lookup);
    await logos.settled();
    expect(logos.get('t', lookup)).toBeNull();
  });

  it('a new tenant snapshot (an upload bumps its generation) makes the next page look again at once', async () => {
    const logos = new UploadedLogos(60_000, () => 0);
    let etag: string | null = null;
    const lookup = async () => (etag ? { etag } : null);
    logos.get('t', lookup, 1);
    await logos.settled();
    expect(logos.get('t', lookup, 1)).toBeNull();
    etag = 'new';
    await logos.settled();
    expect(logos.get('t', lookup, 1)).toBeNull(); // same snapshot, look still fresh: no new look
    expect(logos.get('t', lookup, 2)).toBeNull(); // the page that sees the new snapshot starts the look
    await logos.settled();
    expect(logos.get('t', lookup, 2)).toBe('new');
  });

  it('one look at a time per tenant, and a failed look keeps what was known', async () => {
    let now = 0;
    const logos = new UploadedLogos(1000, () => now);
    logos.note('t', 'known');
    now = 2000;
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('store down');
    };
    logos.get('t', failing);
    logos.get('t', failing);
    await logos.settled();
    expect(calls).toBe(1);
    expect(logos.get('t', async () => null)).toBe('known');
  });

  it('a store without getLogo (or one that throws at once) does not break the page', async () => {
    const logos = new UploadedLogos();
    const broken = (() => {
      throw new TypeError('not a function');
    }) as unknown as () => Promise<null>;
    expect(logos.get('t', broken)).toBeUndefined();
    await logos.settled();
    expect(logos.get('t', broken)).toBeUndefined();
  });
});

describe('sendPage passes the uploaded logo from the store to the page', () => {
  it('after the store reported a logo, the tenant\'s pages show /t/<tenant>/logo', async () => {
    const views = new Views();
    const asked: string[] = [];
    const deps = {
      views,
      config: { demo: false },
      directory: {
        current: () => ({ generation: 1 }),
        getLogo: async (id: string) => {
          asked.push(id);
          return { contentType: 'image/png', bytes: Buffer.alloc(1), etag: 'v7' };
        },
      },
    } as unknown as AppDeps;
    const fakeCtx = () => {
      const headers: Record<string, string> = {};
      return { state: { requestId: 'r' }, get: () => '', set: (k: string, v: string) => (headers[k.toLowerCase()] = v), headers, body: '' as unknown, status: 0, type: '' } as unknown as Context & { headers: Record<string, string> };
    };
    const first = fakeCtx();
    sendPage(first, deps, 'email', { tenant: contoso, data: { state: 's', email: '' } });
    expect(first.body).toContain('src="https://cdn.contoso.test/logo.svg"');
    await views.logos.settled();
    expect(asked).toEqual(['contoso']);
    const second = fakeCtx();
    sendPage(second, deps, 'email', { tenant: contoso, data: { state: 's', email: '' } });
    expect(second.body).toContain('src="/t/contoso/logo?v=v7"');
    expect(second.headers['content-security-policy']).toContain("img-src 'self' data:;");
    // No tenant: no store look, no logo.
    const neutral = fakeCtx();
    sendPage(neutral, deps, 'email', { tenant: null, data: { state: 's', email: '' } });
    expect(neutral.body).not.toContain('<img');
    expect(asked).toEqual(['contoso']);
  });
});

describe('pages of a running service', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({ file: testConfigFile({ tenants: [local('contoso', 'contoso.test', BRANDING, 'Contoso Ltd')] }) });
  });
  afterAll(() => svc?.close());

  const get = async (path: string) => {
    const res = await fetch(`${svc.url}${path}`, { redirect: 'manual' });
    return { res, html: decodeEntities(await res.text()) };
  };

  it('an error page reached through a tenant\'s address carries its branding', async () => {
    const { res, html } = await get(`/t/contoso/auth?appru=${encodeURIComponent('https://evil.example/x')}`);
    expect(res.status).toBe(400);
    expect(html).toContain('<span id="org">Contoso Ltd</span>');
    expect(html).toContain('--brand: #5c2d91;');
    expect(html).toContain('id="privacy"');
    expect(html).toContain('id="signin-text"');
    expect(cspOf(res.headers.get('content-security-policy')!, 'img-src')).toContain('https://cdn.contoso.test');
  });

  it('an error page without a tenant (unknown tenant, refused link) is neutral', async () => {
    for (const path of [`/auth?appru=${encodeURIComponent('https://evil.example/x')}`, `/t/nobody/auth?appru=${encodeURIComponent(APPRU)}`, '/no/such/page']) {
      const { res, html } = await get(path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(html).toContain('<span id="org">Fedbridge</span>');
      expect(html).toContain(`--brand: ${DEFAULT_COLOR};`);
      for (const absent of ['<img', '<footer', 'Contoso', 'contoso.test']) expect(html).not.toContain(absent);
    }
  });

  it('a logo uploaded through the admin API replaces logoUrl on the pages, and the browser may load it (same origin)', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(64, 1)]);
    await svc.service.deps.directory.setLogo('contoso', 'image/png', png);
    const path = `/t/contoso/auth?appru=${encodeURIComponent(APPRU)}&login_hint=ann%40contoso.test`;
    await get(path); // the page that starts the look at the store
    await svc.service.deps.views.logos.settled();
    const { res, html } = await get(path);
    const src = /<img src="([^"]+)" alt="" id="logo">/.exec(html)?.[1];
    expect(src).toMatch(/^\/t\/contoso\/logo\?v=.+/);
    expect(html).not.toContain('cdn.contoso.test');
    expect(cspOf(res.headers.get('content-security-policy')!, 'img-src')).toEqual(["'self'", 'data:']);
    const logo = await fetch(`${svc.url}${src}`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await logo.arrayBuffer()).equals(png)).toBe(true);
  });

  it('the password page of the tenant shows every branding element once', async () => {
    const { res, html } = await get(`/t/contoso/auth?appru=${encodeURIComponent(APPRU)}&login_hint=ann%40contoso.test`);
    expect(res.status).toBe(200);
    for (const id of ['logo', 'org', 'signin-text', 'support', 'privacy', 'terms']) expect(html.split(`id="${id}"`).length - 1).toBe(1);
  });
});

describe('branding URLs are checked at config load', () => {
  const load = (branding: Record<string, unknown>) => startService({ file: testConfigFile({ tenants: [local('t', 't.test', branding)] }) });

  it.each([
    ['privacyUrl', 'http://contoso.test/privacy'],
    ['termsUrl', 'javascript:alert(1)'],
    ['logoUrl', 'javascript:alert(1)'],
    ['logoUrl', 'http://cdn.contoso.test/logo.png'],
    ['privacyUrl', '/privacy'],
  ])('refuses %s %s', async (key, value) => {
    await expect(load({ [key]: value })).rejects.toThrow(new RegExp(`tenants\\[0\\]\\.branding\\.${key}`));
  });

  it('accepts https addresses (and http on loopback, for tests)', async () => {
    const svc = await load({ privacyUrl: 'https://contoso.test/p', termsUrl: 'https://contoso.test/t', logoUrl: 'http://127.0.0.1:9/logo.png' });
    await svc.close();
  });
});
