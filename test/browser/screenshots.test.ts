/**
 * What people see: the email, password and error pages of a branded tenant, and the neutral
 * error page without one, in Debian's chromium at the Windows enrollment window's size (400×500)
 * and a desktop size (1280×800), compared pixel by pixel with the reference PNGs committed in
 * test/browser/__screenshots__/ (docs/branding.md). `npm test` checks English; `npm run test:full`
 * (FEDBRIDGE_FULL=1) all five languages. FEDBRIDGE_UPDATE_SCREENSHOTS=1 rewrites the references.
 * The same run saves docs/screenshots/signin.png (the README's picture) from the 400×500 English
 * password page.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import pixelmatch from 'pixelmatch';
import { launchBrowser } from '../helpers/browser.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REFERENCES = join(HERE, '__screenshots__');
const README_SHOT = join(HERE, '../../docs/screenshots/signin.png');
const UPDATE = !!process.env.FEDBRIDGE_UPDATE_SCREENSHOTS;
const LOCALES = process.env.FEDBRIDGE_FULL ? ['en', 'de', 'fr', 'es', 'ja'] : ['en'];
const SIZES = [
  { name: '400x500', width: 400, height: 500 },
  { name: '1280x800', width: 1280, height: 800 },
];
/** Pixels may differ this much (anti-aliasing aside) before a page counts as changed: a changed word is several hundred. */
const MAX_DIFF_PIXELS = 60;
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const EVIL = 'https://evil.example/steal';

/** The tenant's logo: a fixed SVG served from a loopback origin, as a logoUrl on a CDN would be. */
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">' +
  '<rect width="40" height="40" rx="8" fill="#5c2d91"/><circle cx="20" cy="20" r="10" fill="#fff"/>' +
  '<rect x="48" y="12" width="64" height="16" rx="3" fill="#c4a7e7"/></svg>';

/**
 * Anything that changes from run to run is hidden (the request id) or held still (the caret,
 * animations: the screenshot options). Through the CSSOM: the page's CSP refuses an added <style>.
 */
const FREEZE = "document.querySelectorAll('.request-id').forEach((el) => { el.style.visibility = 'hidden'; })";

let svc: TestService;
let browser: Browser;
let logoServer: Server;

beforeAll(async () => {
  logoServer = createServer((req, res) => {
    if (req.url === '/logo.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
      res.end(LOGO_SVG);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => logoServer.listen(0, '127.0.0.1', () => r()));
  const logoUrl = `http://127.0.0.1:${(logoServer.address() as AddressInfo).port}/logo.svg`;
  svc = await startService({
    file: testConfigFile({
      limits: { authPerIp: 0 },
      tenants: [
        {
          id: 'contoso',
          displayName: 'Contoso Pharmaceuticals',
          domains: ['contoso.test'],
          branding: {
            logoUrl,
            primaryColor: '#5c2d91',
            signInText: 'Use your Contoso account. New staff: your first password is in your welcome letter.',
            supportEmail: 'helpdesk@contoso.test',
            supportUrl: 'https://help.contoso.test/enroll',
            privacyUrl: 'https://contoso.test/privacy',
            termsUrl: 'https://contoso.test/terms',
          },
          // "Use another account" stays offered with a login_hint, so the branded email page is reachable.
          policy: { requireHintMatch: false },
          idp: { kind: 'local', users: [{ upn: 'ann@contoso.test', name: 'Ann', passwordHash: hashPasswordSync('pw-pw-pw-pw') }] },
        },
        {
          // No logoUrl: its logo is uploaded through the admin API by a test below.
          id: 'fabrikam',
          displayName: 'Fabrikam',
          domains: ['fabrikam.test'],
          idp: { kind: 'local', users: [{ upn: 'ann@fabrikam.test', passwordHash: hashPasswordSync('pw-pw-pw-pw') }] },
        },
      ],
    }),
  });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
  await new Promise<void>((r) => (logoServer ? logoServer.close(() => r()) : r()));
});

const authUrl = (path: string, appru: string, hint?: string) =>
  `${svc.url}${path}?appru=${encodeURIComponent(appru)}${hint ? `&login_hint=${encodeURIComponent(hint)}` : ''}`;

/** The pages to picture: how to reach each, and the element that shows it is there. */
const PAGES: Array<{ name: string; open: (p: Page) => Promise<void> }> = [
  {
    name: 'password',
    open: async (p) => {
      await p.goto(authUrl('/t/contoso/auth', APPRU, 'ann@contoso.test'));
      await p.locator('#who').waitFor();
    },
  },
  {
    name: 'email',
    open: async (p) => {
      await p.goto(authUrl('/t/contoso/auth', APPRU, 'ann@contoso.test'));
      await p.locator('#another').click();
      await p.locator('input#email').waitFor();
    },
  },
  {
    name: 'error-tenant',
    open: async (p) => {
      const res = await p.goto(authUrl('/t/contoso/auth', EVIL));
      expect(res?.status()).toBe(400);
    },
  },
  {
    name: 'error-neutral',
    open: async (p) => {
      const res = await p.goto(authUrl('/auth', EVIL));
      expect(res?.status()).toBe(400);
    },
  },
];

interface Comparison {
  diffPixels: number;
  sizeMismatch: string | null;
  diff?: PNG;
}

function compare(actual: PNG, expected: PNG): Comparison {
  if (actual.width !== expected.width || actual.height !== expected.height) {
    return { diffPixels: Infinity, sizeMismatch: `${actual.width}×${actual.height}, reference ${expected.width}×${expected.height}` };
  }
  const diff = new PNG({ width: actual.width, height: actual.height });
  const diffPixels = pixelmatch(actual.data, expected.data, diff.data, actual.width, actual.height, { threshold: 0.1 });
  return { diffPixels, sizeMismatch: null, diff };
}

/** Takes the page's picture and compares it with its reference (or writes the reference when updating). */
async function checkScreenshot(page: Page, file: string): Promise<void> {
  await page.evaluate(FREEZE);
  await page.evaluate('document.fonts.ready.then(() => true)');
  const shot = await page.screenshot({ fullPage: true, animations: 'disabled', caret: 'hide' });
  const ref = join(REFERENCES, file);
  if (UPDATE) {
    mkdirSync(REFERENCES, { recursive: true });
    writeFileSync(ref, shot);
    return;
  }
  if (!existsSync(ref)) throw new Error(`no reference ${ref}: run FEDBRIDGE_UPDATE_SCREENSHOTS=1 npx vitest run test/browser/screenshots.test.ts`);
  const result = compare(PNG.sync.read(shot), PNG.sync.read(readFileSync(ref)));
  if (result.sizeMismatch || result.diffPixels > MAX_DIFF_PIXELS) {
    const out = mkdtempSync(join(tmpdir(), 'fedbridge-screenshot-'));
    writeFileSync(join(out, file), shot);
    if (result.diff) writeFileSync(join(out, file.replace(/\.png$/, '.diff.png')), PNG.sync.write(result.diff));
    throw new Error(
      `${file} differs from its reference: ${result.sizeMismatch ?? `${result.diffPixels} pixels (at most ${MAX_DIFF_PIXELS})`}; the new picture and the difference are in ${out}`,
    );
  }
}

describe('pixel comparison', () => {
  it('finds a changed word and ignores an identical picture', async () => {
    const page = await browser.newPage({ viewport: { width: 400, height: 200 } });
    await page.setContent('<p style="font: 16px sans-serif">Sign in to enroll this device</p>');
    const a = PNG.sync.read(await page.screenshot());
    await page.setContent('<p style="font: 16px sans-serif">Sign in to enrol this device</p>');
    const b = PNG.sync.read(await page.screenshot());
    await page.close();
    expect(compare(a, a).diffPixels).toBe(0);
    expect(compare(a, b).diffPixels).toBeGreaterThan(MAX_DIFF_PIXELS);
  });
});

describe('a logo uploaded through the admin API', () => {
  it('shows on the tenant\'s pages, loaded from /t/<tenant>/logo under the page\'s CSP', async () => {
    const png = new PNG({ width: 24, height: 24 });
    png.data.fill(0x80);
    await svc.service.deps.directory.setLogo('fabrikam', 'image/png', PNG.sync.write(png));
    const page = await browser.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|logo/i.test(m.text())) cspErrors.push(m.text());
    });
    const url = authUrl('/t/fabrikam/auth', APPRU, 'ann@fabrikam.test');
    await page.goto(url); // this page starts the look at the store; the next ones show the upload
    await svc.service.deps.views.logos.settled();
    await page.goto(url);
    expect(await page.locator('#logo').getAttribute('src')).toMatch(/^\/t\/fabrikam\/logo\?v=/);
    await page.waitForFunction("(() => { const img = document.querySelector('#logo'); return !!img && img.complete && img.naturalWidth === 24; })()");
    expect(cspErrors).toEqual([]);
    await page.close();
  }, 60_000);
});

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('the branded pages pass axe (WCAG 2.1 AA): logo, sign-in text, support and footer links included', () => {
  it.each(PAGES)('$name', async ({ name, open }) => {
    // bypassCSP only lets the test inject axe; the pictures above are taken under the pages' own CSP.
    const ctx = await browser.newContext({ bypassCSP: true, locale: 'en', extraHTTPHeaders: { 'accept-language': 'en' } });
    const page = await ctx.newPage();
    await page.setViewportSize({ width: 400, height: 500 });
    await open(page);
    if (name !== 'error-neutral') expect(await page.locator('#privacy').count()).toBe(1);
    await page.addScriptTag({ content: AXE });
    const violations = (await page.evaluate(
      "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }).then((r) => r.violations.map((v) => v.id + ': ' + v.help + ' at ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))",
    )) as string[];
    expect(violations).toEqual([]);
    await ctx.close();
  }, 60_000);
});

describe.each(LOCALES)('the pages look as in their reference pictures (%s)', (locale) => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await browser.newContext({ locale, extraHTTPHeaders: { 'accept-language': locale }, deviceScaleFactor: 1 });
  });
  afterAll(() => ctx?.close());

  describe.each(SIZES)('at $name', (size) => {
    it.each(PAGES)('$name', async ({ name, open }) => {
      const page = await ctx.newPage();
      await page.setViewportSize({ width: size.width, height: size.height });
      const cspErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
      });
      await open(page);
      expect(await page.locator('html').getAttribute('lang')).toBe(locale);
      if (name !== 'error-neutral') {
        // The logo from the tenant's logoUrl loaded: the page's CSP allows its origin.
        await page.waitForFunction("(() => { const img = document.querySelector('#logo'); return !!img && img.complete && img.naturalWidth > 0; })()");
      } else {
        expect(await page.locator('#logo').count()).toBe(0);
      }
      // Inputs and buttons use the page's font, not the browser's form font.
      const fonts = (await page.evaluate(
        "(() => { const f = (s) => { const el = document.querySelector(s); return el ? getComputedStyle(el).fontFamily : null; }; return { body: f('body'), input: f('input:not([type=hidden])'), button: f('button') }; })()",
      )) as { body: string; input: string | null; button: string | null };
      if (fonts.input) expect(fonts.input).toBe(fonts.body);
      if (fonts.button) expect(fonts.button).toBe(fonts.body);
      await checkScreenshot(page, `${name}-${locale}-${size.name}.png`);
      expect(cspErrors).toEqual([]);
      if (UPDATE && name === 'password' && locale === 'en' && size.name === '400x500') {
        // The README's picture: what the enrollment window shows first (the window's size, not the whole page).
        mkdirSync(dirname(README_SHOT), { recursive: true });
        writeFileSync(README_SHOT, await page.screenshot({ animations: 'disabled', caret: 'hide' }));
      }
      await page.close();
    }, 60_000);
  });
});
