/** A person signs in through the demo pages in a real browser (Debian chromium). */
import { expect, it } from 'vitest';
import { demoServiceAndBrowser } from '../helpers/browser.js';

const env = demoServiceAndBrowser();

it('signs in through the demo pages and /demo/device shows the decoded, verified token', async () => {
  const page = await env.browser.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') cspErrors.push(m.text());
  });
  await page.goto(`${env.svc.url}/`);
  expect(await page.locator('.demo').textContent()).toContain('Demo mode');
  await page.getByRole('link', { name: 'Enroll without a login hint' }).click();

  await page.getByLabel('Work email').fill('alice@example.com');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Enter your password' }).waitFor();
  await page.getByLabel('Password').fill('fedbridge-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // The wresult page submits itself on load: we land on the device page without clicking.
  await page.waitForURL(`${env.svc.url}/demo/device`);
  expect(await page.locator('#verdict').textContent()).toMatch(/verifies against this service/);
  const claims = JSON.parse((await page.locator('#claims').textContent()) ?? '{}');
  expect(claims).toMatchObject({ upn: 'alice@example.com', tid: 'demo', aud: 'urn:fedbridge:demo', iss: env.svc.url });
  expect(cspErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  if (process.env.FEDBRIDGE_SCREENSHOTS) await page.screenshot({ path: `${process.env.FEDBRIDGE_SCREENSHOTS}/device.png`, fullPage: true });
  await page.close();
});

it('a wrong password shows an accessible error and no token', async () => {
  const page = await env.browser.newPage();
  await page.goto(`${env.svc.url}/auth?appru=${encodeURIComponent(`${env.svc.url}/demo/device`)}&login_hint=bob%40example.com`);
  await page.getByLabel('Password').fill('nope');
  await page.getByRole('button', { name: 'Sign in' }).click();
  expect(await page.getByRole('alert').textContent()).toContain('not right');
  expect(await page.locator('input[name=wresult]').count()).toBe(0);
  expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
  await page.close();
});

it('a refused appru ends on a branded error page with status 400', async () => {
  const page = await env.browser.newPage();
  const res = await page.goto(`${env.svc.url}/auth?appru=${encodeURIComponent('https://evil.example/steal')}`);
  expect(res?.status()).toBe(400);
  expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This sign-in link is not allowed');
  expect(await page.locator('form').count()).toBe(0);
  await page.close();
});
