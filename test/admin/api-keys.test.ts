/**
 * GET /keys and POST /keys/rotate against a running service: the rotated-in key is `next`,
 * published in the JWKS at once, `active` one JWKS max-age later (the old key then `retiring`);
 * never a private part in an answer. Every answer is checked against the OpenAPI document.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startEnrollmentService } from '../helpers/enrollment.js';
import { TestClock } from '../helpers/service.js';
import { useAdminService } from './service.js';

const clock = new TestClock();
const admin = useAdminService(() => startEnrollmentService({ clock }));

const PRIVATE = /"(d|p|q|dp|dq|qi|privateJwk)"\s*:/;

async function jwksKids(): Promise<string[]> {
  const res = await fetch(`${admin.svc.url}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
}

it('lists the one key of a fresh service as active, with public facts only', async () => {
  const res = await admin.api.call('get', '/keys');
  expect(res.status).toBe(200);
  expect(res.json.keys).toHaveLength(1);
  const [key] = res.json.keys;
  expect(key).toMatchObject({ alg: 'ES256', state: 'active', retireAt: null });
  expect(await jwksKids()).toEqual([key.kid]);
  expect(res.text).not.toMatch(PRIVATE);
});

it('rotation adds a key that is next and in the JWKS at once, signs after the max-age, and the old one retires', async () => {
  const before = (await admin.api.call('get', '/keys')).json.keys[0];
  const res = await admin.api.call('post', '/keys/rotate');
  expect(res.status).toBe(200);
  expect(res.text).not.toMatch(PRIVATE);
  const kid = res.json.kid as string;
  expect(kid).not.toBe(before.kid);
  const maxAge = admin.svc.config.keys.jwksMaxAgeSeconds;
  expect(Date.parse(res.json.activateAt)).toBe(clock.now() + maxAge * 1000);
  expect(res.json.keys.find((k: { kid: string }) => k.kid === kid)).toMatchObject({ state: 'next', retireAt: null });
  expect(existsSync(join(admin.svc.config.keys.dir, `${kid}.json`))).toBe(true);

  // Published at once, before it signs.
  expect(await jwksKids()).toEqual(expect.arrayContaining([before.kid, kid]));
  const listed = (await admin.api.call('get', '/keys')).json.keys as Array<{ kid: string; state: string; retireAt: string | null }>;
  expect(Object.fromEntries(listed.map((k) => [k.kid, k.state]))).toEqual({ [before.kid]: 'active', [kid]: 'next' });
  expect(listed.find((k) => k.kid === before.kid)!.retireAt).toBe(res.json.activateAt);

  clock.advance(maxAge * 1000);
  const later = (await admin.api.call('get', '/keys')).json.keys as Array<{ kid: string; state: string }>;
  expect(Object.fromEntries(later.map((k) => [k.kid, k.state]))).toEqual({ [before.kid]: 'retiring', [kid]: 'active' });
  expect(await jwksKids()).toEqual(expect.arrayContaining([before.kid, kid]));

  // Once every token the old key signed has expired, it is retired and leaves the JWKS.
  clock.advance((admin.svc.config.tokens.ttlSeconds + 120) * 1000);
  const end = (await admin.api.call('get', '/keys')).json.keys as Array<{ kid: string; state: string }>;
  expect(Object.fromEntries(end.map((k) => [k.kid, k.state]))).toEqual({ [before.kid]: 'retired', [kid]: 'active' });
  expect(await jwksKids()).toEqual([kid]);
  // The next rotation deletes the retired key's file.
  const again = await admin.api.call('post', '/keys/rotate');
  expect(again.json.removed).toEqual([before.kid]);
  expect(readdirSync(admin.svc.config.keys.dir).filter((f) => f.endsWith('.json')).sort()).toEqual([`${again.json.kid}.json`, `${kid}.json`].sort());
});
