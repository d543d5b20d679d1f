/**
 * While the store is unreachable (Redis stopped): sign-in pages answer a branded 503 with
 * Retry-After, /introspect a JSON 503, /readyz is false; all three recover as soon as Redis is
 * back (docs/operations.md). Before: a generic 500 page.
 */
import { expect, it } from 'vitest';
import { signIn } from '../helpers/html.js';
import { useServiceOnRedis } from '../helpers/on-redis.js';
import { APPRU, CLIENT, PASSWORD } from '../helpers/enrollment.js';
import { buildEnrollEnvelope } from '../../src/soap/build.js';

const env = useServiceOnRedis();

const introspect = (token: string) =>
  fetch(`${env.svc.url}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });

it('answers 503 with Retry-After (branded page, JSON) and /readyz false exactly while Redis is down', async () => {
  const { token } = await signIn(env.svc.url, { appru: APPRU, hint: 'alice@example.com', user: 'alice@example.com', password: PASSWORD });
  expect(token).toBeTruthy();
  expect((await fetch(`${env.svc.url}/readyz`)).status).toBe(200);

  await env.redis.stop();

  const page = await fetch(`${env.svc.url}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=alice%40example.com`, {
    headers: { 'accept-language': 'en' },
    redirect: 'manual',
  });
  expect(page.status).toBe(503);
  expect(page.headers.get('retry-after')).toBe('5');
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toContain('The sign-in service is briefly unavailable');
  expect(html).toContain('You can try again in 5 seconds.');
  expect(html).toContain('store_unavailable');
  expect(html).not.toContain('The sign-in could not be completed'); // the generic page

  const de = await fetch(`${env.svc.url}/auth?appru=${encodeURIComponent(APPRU)}`, { headers: { 'accept-language': 'de' } });
  expect(de.status).toBe(503);
  expect(await de.text()).toContain('Der Anmeldedienst ist kurz nicht verfügbar');

  const res = await introspect(buildEnrollEnvelope({ token: token!, deviceId: 'D1' }));
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(await res.json()).toEqual({ error: 'store_unavailable', error_description: 'internal error' });

  const ready = await fetch(`${env.svc.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ error: 'not_ready' });

  await env.redis.restart();
  const back = Date.now();
  for (;;) {
    if ((await fetch(`${env.svc.url}/readyz`)).status === 200) break;
    if (Date.now() - back > 3000) throw new Error('/readyz still false 3 s after Redis came back');
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(Date.now() - back).toBeLessThan(1000);
  const again = await fetch(`${env.svc.url}/auth?appru=${encodeURIComponent(APPRU)}&login_hint=alice%40example.com`, { redirect: 'manual' });
  expect(again.status).toBe(200);
}, 30_000);
