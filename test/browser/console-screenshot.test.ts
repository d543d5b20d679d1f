/**
 * What operators see (docs/console.md): the console's sign-in page at 400×500 and its tenants page
 * at 1280×800 (a file tenant and a branded tenant created through the admin API, so kept in the
 * store), in Debian's chromium, compared pixel by pixel with the references committed in
 * test/browser/__screenshots__/ (test/browser/pixels.ts, the rule of screenshots.test.ts). The
 * console is in English only. The request id is hidden. FEDBRIDGE_UPDATE_SCREENSHOTS=1 rewrites the
 * references and docs/screenshots/console.png (the README's picture: the tenants page as the
 * 1280×800 window shows it), which a normal run compares too, so it cannot go stale.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { launchBrowser } from '../helpers/browser.js';
import type { TestService } from '../helpers/service.js';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { ADMIN_TOKEN, startConsoleService } from '../console/helpers.js';
import { compare, matchReference, MAX_DIFF_PIXELS } from './pixels.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REFERENCES = join(HERE, '__screenshots__');
const README_SHOT = join(HERE, '../../docs/screenshots/console.png');
const REGENERATE = 'npx vitest run test/browser/console-screenshot.test.ts';

/** Hides what changes from run to run (the request id), through the CSSOM: the console's CSP refuses an added <style>. */
const FREEZE = "document.querySelectorAll('.meta').forEach((el) => { el.style.visibility = 'hidden'; })";

let svc: TestService;
let browser: Browser;
let ctx: BrowserContext;

beforeAll(async () => {
  // File tenants acme (Acme Corp, branded colour) and globex (test/console/helpers.ts).
  svc = await startConsoleService();
  // A branded tenant created through the admin API: the console lists it as kept in the store.
  const res = await fetch(`${svc.url}/admin/api/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'contoso',
      displayName: 'Contoso Pharmaceuticals',
      domains: ['contoso.test', 'contoso-pharma.test'],
      branding: { primaryColor: '#5c2d91', signInText: 'Use your Contoso account.', supportEmail: 'helpdesk@contoso.test' },
      idp: { kind: 'local', id: 'contoso-local', users: [{ upn: 'ann@contoso.test', name: 'Ann', passwordHash: hashPasswordSync('pw-pw-pw-pw') }] },
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  browser = await launchBrowser();
  ctx = await browser.newContext({ locale: 'en', extraHTTPHeaders: { 'accept-language': 'en' }, deviceScaleFactor: 1 });
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await browser?.close();
  await svc?.close();
});

async function picture(page: Page, fullPage: boolean): Promise<Buffer> {
  await page.evaluate(FREEZE);
  await page.evaluate('document.fonts.ready.then(() => true)');
  return page.screenshot({ fullPage, animations: 'disabled', caret: 'hide' });
}

function watchCsp(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  return errors;
}

it('the sign-in page at 400×500 looks as in its reference', async () => {
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 400, height: 500 });
  const cspErrors = watchCsp(page);
  await page.goto(`${svc.url}/admin`);
  await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
  // Focus is on the token field on arrival (its outline is in the picture).
  await page.waitForFunction("document.activeElement && document.activeElement.id === 'token'");
  matchReference(await picture(page, true), join(REFERENCES, 'console-signin-en-400x500.png'), REGENERATE);
  expect(cspErrors).toEqual([]);
  await page.close();
}, 60_000);

it('the tenants page at 1280×800 (a file tenant and a branded store tenant) looks as in its reference and in the README', async () => {
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  const cspErrors = watchCsp(page);
  await page.goto(`${svc.url}/admin`);
  await page.locator('#token').fill(ADMIN_TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${svc.url}/admin/tenants`);
  // The IdP health is checked in the background: wait for every result (a local IdP answers at once).
  for (let i = 0; i < 20 && (await page.getByText('Still checking').count()) > 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
  }
  expect(await page.getByText('Still checking').count()).toBe(0);
  expect(await page.locator('#tenant-acme').textContent()).toContain('Configuration file');
  expect(await page.locator('#tenant-contoso').textContent()).toContain('Admin API (store)');
  expect(await page.locator('.meta').count()).toBe(1); // the request id that FREEZE hides
  // Take the focus off the page (the sign-in left it nowhere visible, but a click could).
  await page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()");
  matchReference(await picture(page, true), join(REFERENCES, 'console-tenants-en-1280x800.png'), REGENERATE);
  // The README's picture: what a 1280×800 window shows.
  matchReference(await picture(page, false), README_SHOT, REGENERATE);
  expect(cspErrors).toEqual([]);
  await page.close();
}, 90_000);

it('the comparison sees a changed tenant name on the tenants page', async () => {
  // Same page, one name different: the rule above would refuse it.
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${svc.url}/admin/tenants`);
  if (page.url() === `${svc.url}/admin`) {
    // Run alone (no session from the test above): sign in first.
    await page.locator('#token').fill(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/tenants`);
  }
  await page.locator('#tenant-globex').waitFor();
  const a = PNG.sync.read(await picture(page, true));
  await page.evaluate("document.querySelector('#tenant-globex th').firstChild.textContent = 'Initech'");
  const b = PNG.sync.read(await picture(page, true));
  expect(compare(a, a).diffPixels).toBe(0);
  expect(compare(a, b).diffPixels).toBeGreaterThan(MAX_DIFF_PIXELS);
  await page.close();
}, 60_000);
