/**
 * A person signs in through the demo pages in each of the five languages (Debian chromium): the
 * browser's language picks the pages' language, every step is found by its translated label,
 * and the sign-in ends on the device page with a verified token.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { demoServiceAndBrowser } from '../helpers/browser.js';
import { DEMO_PASSWORD } from '../../src/config/demo.js';

const LOCALE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../views/locales');
const msgs = (l: string) => JSON.parse(readFileSync(join(LOCALE_DIR, `${l}.json`), 'utf8')) as Record<string, string>;
const env = demoServiceAndBrowser();

/** `npm test`: English and Japanese (the non-Latin one); `npm run test:full` (FEDBRIDGE_FULL=1): all five. */
const LOCALES = process.env.FEDBRIDGE_FULL ? ['en', 'de', 'fr', 'es', 'ja'] : ['en', 'ja'];

it.each(LOCALES)('signs in through the demo pages in %s', async (locale) => {
  const m = msgs(locale);
  const ctx = await env.browser.newContext({ locale, extraHTTPHeaders: { 'accept-language': locale } });
  const page = await ctx.newPage();
  await page.goto(`${env.svc.url}/`);
  expect(await page.locator('html').getAttribute('lang')).toBe(locale);
  await page.getByRole('link', { name: m['home.enroll_nohint'] }).click();

  await page.getByRole('heading', { name: m['email.title'] }).waitFor();
  await page.getByLabel(m['email.label']).fill('alice@example.com');
  await page.getByRole('button', { name: m['email.next'] }).click();

  await page.getByRole('heading', { name: m['password.title'] }).waitFor();
  expect(await page.locator('html').getAttribute('lang')).toBe(locale);
  await page.getByLabel(m['password.password'], { exact: true }).fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: m['password.submit'] }).click();

  await page.waitForURL(`${env.svc.url}/demo/device`);
  expect(await page.locator('#verdict').textContent()).toBe(m['device.verified']);
  const claims = JSON.parse((await page.locator('#claims').textContent()) ?? '{}');
  expect(claims).toMatchObject({ upn: 'alice@example.com', tid: 'demo' });
  await ctx.close();
}, 60_000);
