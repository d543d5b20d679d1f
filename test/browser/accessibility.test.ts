/**
 * Accessibility of every page a person sees, checked with axe-core (WCAG 2.1 A and AA)
 * in the real browser, plus keyboard-only use of the sign-in. `npm test` checks English and
 * Japanese (the longest and the non-Latin texts); `npm run test:full` (FEDBRIDGE_FULL=1)
 * checks all five languages.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { demoServiceAndBrowser } from '../helpers/browser.js';
import { hiddenValue } from '../helpers/html.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const env = demoServiceAndBrowser();

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Runs axe on the page and returns its violations, one readable line each. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations;
  })) as Violation[];
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function context(locale: string): Promise<BrowserContext> {
  // bypassCSP only lets the test inject axe; the pages' own CSP is tested elsewhere.
  return env.browser.newContext({ bypassCSP: true, locale, extraHTTPHeaders: { 'accept-language': locale } });
}

const authUrl = (hint?: string, appru = APPRU) =>
  `${env.svc.url}/auth?appru=${encodeURIComponent(appru)}${hint ? `&login_hint=${encodeURIComponent(hint)}` : ''}`;

const LOCALES = process.env.FEDBRIDGE_FULL ? ['en', 'de', 'fr', 'es', 'ja'] : ['en', 'ja'];

/** Wrong passwords for bob until the per-user limit answers 429 (its page says when to retry). */
async function rateLimitedPage(locale: string): Promise<string> {
  const first = await fetch(authUrl('bob@example.com'), { headers: { 'accept-language': locale } });
  const state = hiddenValue(await first.text(), 'state')!;
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${env.svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': locale },
      body: new URLSearchParams({ state, username: 'bob@example.com', password: 'wrong' }),
    });
    const html = await res.text();
    if (res.status === 429) {
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(html).toContain('class="retry"');
      return html;
    }
  }
  throw new Error('no 429 after 30 wrong passwords');
}

describe.each(LOCALES)('pages pass axe (WCAG 2.1 AA) in %s', (locale) => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await context(locale);
  });
  afterAll(() => ctx.close());

  const pages: Array<[string, (page: Page) => Promise<unknown>]> = [
    ['the demo home page', (p) => p.goto(`${env.svc.url}/`)],
    ['the email page', (p) => p.goto(authUrl())],
    ['the email page with "no organization found"', (p) => p.goto(authUrl('eve@nowhere.test'))],
    ['the password page', (p) => p.goto(authUrl('alice@example.com'))],
    [
      'the password page with an error',
      async (p) => {
        await p.goto(authUrl('alice@example.com'));
        await p.locator('#password').fill('wrong');
        await p.locator('button[type=submit]').click();
        await p.getByRole('alert').waitFor();
      },
    ],
    ['an error page', (p) => p.goto(authUrl(undefined, 'javascript:alert(1)'))],
    [
      'the password page naming the user, after the email step',
      async (p) => {
        await p.goto(authUrl());
        await p.locator('#email').fill('alice@example.com');
        await p.locator('button[type=submit]').click();
        await p.locator('#who').waitFor();
      },
    ],
    [
      'the email page again after "use another account"',
      async (p) => {
        await p.goto(authUrl());
        await p.locator('#email').fill('alice@example.com');
        await p.locator('button[type=submit]').click();
        await p.locator('#another').click();
        await p.locator('#email').waitFor();
      },
    ],
    ['a rate-limit page (429, says when to retry)', async (p) => p.setContent(await rateLimitedPage(locale))],
    [
      'the page for a request Node refuses (431, headers too large)',
      async (p) => {
        const res = await p.goto(authUrl(undefined, `ms-app://${'a'.repeat(20_000)}`));
        expect(res?.status()).toBe(431);
      },
    ],
  ];
  for (const [name, open] of pages) {
    it(name, async () => {
      const page = await ctx.newPage();
      await open(page);
      expect(await page.locator('html').getAttribute('lang')).toBe(locale);
      expect(await axeViolations(page)).toEqual([]);
      await page.close();
    });
  }

  it('the wresult page (its markup; the auto-submit is switched off to look at it)', async () => {
    const first = await fetch(authUrl('alice@example.com'), { headers: { 'accept-language': locale } });
    const state = hiddenValue(await first.text(), 'state')!;
    const res = await fetch(`${env.svc.url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': locale },
      body: new URLSearchParams({ state, username: 'alice@example.com', password: 'fedbridge-demo' }),
    });
    const html = (await res.text()).replace(/<script[\s\S]*?<\/script>/g, '');
    const page = await ctx.newPage();
    await page.setContent(html);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });
});

it('the whole sign-in works with the keyboard alone', async () => {
  const ctx = await context('en');
  const page = await ctx.newPage();
  await page.goto(authUrl(undefined, `${env.svc.url}/demo/device`));
  // The email field gets focus on arrival (autofocus lands a moment after load): type, Enter submits.
  const focused = (id: string) =>
    page.waitForFunction((want) => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id === want, id, { timeout: 10_000 });
  await focused('email');
  await page.keyboard.type('alice@example.com');
  await page.keyboard.press('Enter');
  // With the user name known, focus is on the password field.
  await focused('password');
  await page.keyboard.type('fedbridge-demo');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${env.svc.url}/demo/device`);
  expect(await page.locator('#verdict').textContent()).toMatch(/verifies/);
  await ctx.close();
});
