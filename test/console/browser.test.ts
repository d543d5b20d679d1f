/**
 * The console in a real browser (Debian chromium), driven by the keyboard alone: sign in, the
 * tenants, the branding page with its live preview, an invitation created (QR code shown) and
 * revoked, the activity after a real sign-in, sign-out. Every console page is checked with
 * axe-core (WCAG 2.1 A and AA and best practices: zero violations), under the pages' own strict
 * CSP (no bypass: a page whose style or script the CSP blocked would fail here).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import type { TestService } from '../helpers/service.js';
import { ADMIN_TOKEN, PASSWORD, startConsoleService } from './helpers.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let svc: TestService;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const cspErrors: string[] = [];

beforeAll(async () => {
  svc = await startConsoleService({ extra: { appru: { allow: ['http://127.0.0.1:{{PORT}}/device-return'] } } });
  browser = await launchBrowser();
  ctx = await browser.newContext({ locale: 'en' });
  // A wait that never ends fails with the call named (Playwright's default is no timeout at all).
  ctx.setDefaultTimeout(30_000);
  ctx.setDefaultNavigationTimeout(30_000);
  page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await browser?.close();
  await svc?.close();
});

/** axe-core's violations on the page, one line each (run through the debugging protocol: the page's CSP stays on). */
async function axeViolations(p: Page): Promise<string[]> {
  await p.evaluate(AXE);
  const violations = (await p.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    // Not into frames: the sandboxed preview runs no script (axe cannot answer from inside it and
    // would wait for it); the preview page is checked on its own below.
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, {
      iframes: false,
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return r.violations;
  })) as Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const activeId = (p: Page) => p.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id ?? '');
const activeText = (p: Page) =>
  p.evaluate(() => ((globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent ?? '').trim());

/** Presses Tab until the focused element matches (by id or by its text), as a keyboard user would. */
async function tabTo(p: Page, want: { id?: string; text?: RegExp }, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    if (want.id && (await activeId(p)) === want.id) return;
    if (want.text && want.text.test(await activeText(p))) return;
  }
  throw new Error(`Tab never reached ${want.id ?? want.text}`);
}

/**
 * The walk below in named steps. A step that fails or hangs fails the test with its name: some
 * Playwright calls take no timeout (evaluate, keyboard, page.close) and expect.poll does not bound its
 * callback, so each step is bounded here, and all of them end before the test's own timeout.
 */
const WALK_MS = 170_000;
const STEP_MS = 60_000;
let walkEnds = 0;
async function step(name: string, fn: () => Promise<void>): Promise<void> {
  const ms = Math.max(1_000, Math.min(STEP_MS, walkEnds - Date.now()));
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${name}" did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    await Promise.race([fn(), hung]);
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith('step "')) e.message = `step "${name}": ${e.message}`;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A poll's value, or null when it does not settle soon (expect.poll would wait for it forever). */
function soon<T>(p: Promise<T>, ms = 5_000): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => null), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]).finally(() => clearTimeout(timer));
}

async function focused(p: Page, id: string): Promise<void> {
  await p.waitForFunction((want) => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id === want, id, { timeout: 10_000 });
}

it('the whole console works with the keyboard alone and every page passes axe', async () => {
  walkEnds = Date.now() + WALK_MS;
  await step('sign-in page: a wrong token, then the admin token', async () => {
    // The sign-in page: the token field has focus on arrival.
    await page.goto(`${svc.url}/admin`);
    expect(await axeViolations(page)).toEqual([]);
    await focused(page, 'token');
    await page.keyboard.type('a-wrong-admin-token');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.locator('#token').focus();
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/tenants`);
  });

  await step('tenants page', async () => {
    await page.getByRole('heading', { name: 'Tenants' }).waitFor();
    expect(await page.locator('#tenant-acme').textContent()).toContain('Configuration file');
    expect(await axeViolations(page)).toEqual([]);
  });

  // Branding of Acme, with the live preview.
  const preview = () => page.frames().find((f) => f.url().includes('/admin/tenants/acme/preview'));
  await step('branding page and its preview', async () => {
    await tabTo(page, { text: /^Branding of Acme Corp$/ });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/tenants/acme/branding`);
    await expect.poll(async () => (await soon(preview()?.locator('h1').textContent({ timeout: 2_000 }) ?? Promise.resolve(null))) ?? null, { timeout: 15_000 }).toBe('Sign in to enroll this device');
    expect(await axeViolations(page)).toEqual([]);
    const alone = await ctx.newPage();
    await alone.goto(preview()!.url());
    expect(await axeViolations(alone)).toEqual([]);
    await alone.close();
  });
  await step('branding: the preview follows the typing', async () => {
    await tabTo(page, { id: 'f-primaryColor' });
    await page.keyboard.press('Control+A');
    await page.keyboard.type('#aa3300');
    await tabTo(page, { id: 'f-signInText' });
    await page.keyboard.type('Only Acme staff');
    // The preview follows the typing (the page's nonce'd script reloads it).
    await expect
      .poll(async () => {
        const f = preview();
        if (!f || !f.url().includes('aa3300') || !f.url().includes('Acme+staff')) return null;
        return soon(
          f.evaluate(() => {
            const d = (globalThis as unknown as { document: { querySelector(s: string): unknown; body: { textContent: string } } }).document;
            const button = d.querySelector('button[type=submit]');
            return { bg: (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(button).backgroundColor, text: d.body.textContent.includes('Only Acme staff') };
          }),
        );
      }, { timeout: 15_000 })
      .toEqual({ bg: 'rgb(170, 51, 0)', text: true });
  });

  await step('invitations: create one, see its link and QR code', async () => {
    // The nav is at the top: from the start of the page.
    await page.locator('body').focus();
    await tabTo(page, { text: /^Invitations$/ });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/invitations`);
    expect(await axeViolations(page)).toEqual([]);
    await tabTo(page, { id: 'inv-tenant' });
    await tabTo(page, { id: 'inv-upn' });
    await page.keyboard.type('ann@acme.test');
    await tabTo(page, { id: 'inv-servername' });
    await page.keyboard.type('mdm.acme.test');
    await page.keyboard.press('Enter');
    await page.locator('#created').waitFor();
    const link = await page.locator('#created-link').inputValue();
    expect(link).toMatch(/^ms-device-enrollment:\?mode=mdm&username=ann%40acme\.test&servername=mdm\.acme\.test&accesstoken=/);
    const qr = page.getByRole('img', { name: 'QR code of the enrollment link for ann@acme.test' });
    expect(await qr.isVisible()).toBe(true);
    expect((await qr.boundingBox())!.width).toBeGreaterThanOrEqual(200);
    expect(await axeViolations(page)).toEqual([]);
  });

  await step('invitations: revoke it', async () => {
    await tabTo(page, { text: /^Revoke the invitation for ann@acme\.test/ });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/invitations?done=revoked`);
    expect(await page.getByRole('status').textContent()).toContain('revoked');
    expect(await page.locator('#no-invitations').isVisible()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
  });

  await step('a real sign-in in another tab', async () => {
    const device = await ctx.newPage();
    await device.goto(`${svc.url}/auth?appru=${encodeURIComponent(`${svc.url}/device-return`)}&login_hint=ann%40acme.test`);
    await focused(device, 'password');
    await device.keyboard.type(PASSWORD);
    const finished = device.waitForRequest((r) => r.url() === `${svc.url}/device-return` && r.method() === 'POST');
    await device.keyboard.press('Enter');
    await finished;
    // Close only once that navigation has committed and loaded: chromium acknowledges a close that
    // races a navigation commit and then drops it, and page.close() (no timeout) waits forever.
    await device.waitForURL(`${svc.url}/device-return`);
    await device.close();
    await svc.service.deps.audit.flush();
  });

  await step('activity: filter on successful sign-ins', async () => {
    await page.locator('body').focus();
    await tabTo(page, { text: /^Activity$/ });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin/activity`);
    await tabTo(page, { id: 'filter-type' });
    await page.keyboard.type('signin.ok');
    await tabTo(page, { text: /^Show$/ });
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/admin\/activity\?tenant=&type=signin\.ok$/);
    const rows = page.locator('#events tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('ann@acme.test');
    expect(await axeViolations(page)).toEqual([]);
  });

  await step('an error page (an unknown tenant)', async () => {
    await page.goto(`${svc.url}/admin/tenants/nope/branding`);
    expect(await axeViolations(page)).toEqual([]);
  });

  await step('sign out', async () => {
    await page.goto(`${svc.url}/admin/tenants`);
    await page.locator('body').focus();
    await tabTo(page, { id: 'sign-out' });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${svc.url}/admin?signed_out=1`);
    expect(await page.getByRole('status').textContent()).toContain('signed out');
    expect(await axeViolations(page)).toEqual([]);
    await page.goto(`${svc.url}/admin/tenants`);
    expect(page.url()).toBe(`${svc.url}/admin`);
  });

  expect(cspErrors).toEqual([]);
}, 180_000);

it('the error page in Japanese (a CSRF refusal) passes axe', async () => {
  const ja = await browser.newContext({ locale: 'ja', extraHTTPHeaders: { 'accept-language': 'ja' } });
  const p = await ja.newPage();
  // A form on another site's page that posts to the console: refused, 403.
  await p.route('http://evil.test/**', (r) =>
    r.fulfill({ contentType: 'text/html', body: `<!DOCTYPE html><form method="post" action="${svc.url}/admin/sign-in"><input name="token" value="${ADMIN_TOKEN}"><button id="go">go</button></form>` }),
  );
  await p.goto('http://evil.test/');
  const status = p.waitForResponse((r) => r.url() === `${svc.url}/admin/sign-in`);
  await p.click('#go');
  expect((await status).status()).toBe(403);
  await p.waitForLoadState();
  expect(await p.locator('html').getAttribute('lang')).toBe('ja');
  expect(await p.locator('code').first().textContent()).toBe('csrf_failed');
  expect((await ja.cookies()).filter((c) => c.name === 'fb_console')).toEqual([]);
  expect(await axeViolations(p)).toEqual([]);
  await ja.close();
}, 60_000);
