/**
 * Per-tenant language (issue #10): `branding.defaultLocale` when the browser names no language
 * we have, `branding.strings` replacing messages (only known keys, only their placeholders,
 * refused at config load otherwise), and the 429/503 pages in all five languages saying when
 * to retry with the same number as Retry-After.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPasswordSync } from '../../src/upstreams/local/password.js';
import { errorHandler, requestId } from '../../src/http/middleware.js';
import { listen } from '../../src/http/listen.js';
import { serviceUnavailable, tooManyRequests } from '../../src/errors.js';
import { decodeEntities, hiddenValue } from '../helpers/html.js';
import { startService, testConfigFile, type TestService } from '../helpers/service.js';

const LOCALES = join(dirname(fileURLToPath(import.meta.url)), '../../views/locales');
const msgs = (l: string) => JSON.parse(readFileSync(join(LOCALES, `${l}.json`), 'utf8')) as Record<string, string>;
const ALL = ['en', 'de', 'fr', 'es', 'ja'];
const APPRU = 'ms-app://windows.immersivecontrolpanel';
const HASH = hashPasswordSync('pw-pw-pw-pw');

function local(id: string, domains: string[], branding: Record<string, unknown>) {
  return { id, displayName: `${id} org`, domains, branding, idp: { kind: 'local', users: [{ upn: `ann@${domains[0]}`, passwordHash: HASH }] } };
}

async function page(base: string, path: string, acceptLanguage?: string) {
  const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: acceptLanguage ? { 'accept-language': acceptLanguage } : {} });
  const raw = await res.text();
  return { res, raw, text: decodeEntities(raw), lang: /<html lang="([^"]+)">/.exec(raw)?.[1] };
}

describe('a tenant\'s default language and its own wording', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService({
      file: testConfigFile({
        limits: { authPerIp: 0 },
        tenants: [
          local('tokyo', ['tokyo.test'], {
            defaultLocale: 'ja',
            strings: { 'password.title': { ja: '東京の社員パスワード', en: 'Your Tokyo password' }, 'password.password': 'Not you? Switch' },
          }),
          local('plain', ['plain.test'], {}),
        ],
      }),
    });
  });
  afterAll(() => svc?.close());

  const hinted = (user: string) => `/auth?appru=${encodeURIComponent(APPRU)}&login_hint=${encodeURIComponent(user)}`;

  it('no Accept-Language: the tenant\'s default (ja); another tenant without one: en', async () => {
    expect((await page(svc.url, hinted('ann@tokyo.test'))).lang).toBe('ja');
    expect((await page(svc.url, hinted('ann@plain.test'))).lang).toBe('en');
  });

  it('an Accept-Language with no language we have: the tenant\'s default', async () => {
    const p = await page(svc.url, hinted('ann@tokyo.test'), 'ko-KR, zh;q=0.8');
    expect(p.lang).toBe('ja');
    expect(p.text).toContain(msgs('ja')['password.submit']);
  });

  it('a language the browser asks for wins over the tenant\'s default (q-values honoured)', async () => {
    const p = await page(svc.url, hinted('ann@tokyo.test'), 'ko;q=0.9, es;q=0.4, de;q=0.5');
    expect(p.lang).toBe('de');
    expect(p.text).toContain(msgs('de')['password.submit']);
  });

  it('a tenant found on the email step brings its default language to the next page', async () => {
    const first = await page(svc.url, `/auth?appru=${encodeURIComponent(APPRU)}`);
    expect(first.lang).toBe('en');
    const res = await fetch(`${svc.url}/auth/email`, {
      method: 'POST',
      body: new URLSearchParams({ state: hiddenValue(first.raw, 'state')!, email: 'ann@tokyo.test' }),
    });
    const raw = await res.text();
    expect(raw).toContain('<html lang="ja">');
    expect(decodeEntities(raw)).toContain('東京の社員パスワード');
  });

  it('branding.strings replace the message: per language where given, for all languages as a plain string', async () => {
    const ja = await page(svc.url, hinted('ann@tokyo.test'));
    expect(ja.text).toContain('<h1>東京の社員パスワード</h1>');
    expect(ja.text).toContain('Not you? Switch');
    const en = await page(svc.url, hinted('ann@tokyo.test'), 'en');
    expect(en.text).toContain('<h1>Your Tokyo password</h1>');
    const fr = await page(svc.url, hinted('ann@tokyo.test'), 'fr');
    expect(fr.text).toContain(`<h1>${msgs('fr')['password.title']}</h1>`);
    expect(fr.text).toContain('Not you? Switch');
    // Another tenant keeps the built-in texts.
    const plain = await page(svc.url, hinted('ann@plain.test'), 'en');
    expect(plain.text).toContain(`<h1>${msgs('en')['password.title']}</h1>`);
    expect(plain.text).not.toContain('Not you? Switch');
  });
});

describe('branding.strings are checked at config load', () => {
  const load = (strings: unknown) => startService({ file: testConfigFile({ tenants: [local('t', ['t.test'], { strings })] }) });

  it('refuses a key that is not a message', async () => {
    await expect(load({ 'email.titel': 'x' })).rejects.toThrow(/tenants\[0\]\.branding\.strings.*email\.titel.*not a message key/s);
  });

  it('refuses a placeholder the message does not have, as plain text and per language', async () => {
    await expect(load({ 'email.unknown_org': 'No org for {mail}' })).rejects.toThrow(/unknown placeholder \{mail\}; this message has \{email\}/);
    await expect(load({ 'email.title': { de: 'Hallo {user}' } })).rejects.toThrow(/email\.title.*de.*unknown placeholder \{user\}; this message has none/s);
  });

  it('refuses a language we do not have and an empty text', async () => {
    await expect(load({ 'email.title': { xx: 'hi' } })).rejects.toThrow(/strings/);
    await expect(load({ 'email.title': '' })).rejects.toThrow(/strings/);
  });

  it('refuses a defaultLocale we do not have', async () => {
    await expect(startService({ file: testConfigFile({ tenants: [local('t', ['t.test'], { defaultLocale: 'ko' })] }) })).rejects.toThrow(/defaultLocale/);
  });

  it('accepts known keys with their own placeholders (or fewer)', async () => {
    const svc = await load({ 'email.unknown_org': 'Nothing for {email}', 'error.upn_not_in_tenant': 'Use your work account', 'email.next': { ja: '次' } });
    await svc.close();
  });
});

describe('rate-limit and busy pages say when to retry, in all five languages', () => {
  let svc: TestService;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    svc = await startService({ file: testConfigFile({ limits: { authPerIp: 1 }, tenants: [local('p', ['p.test'], {})] }) });
    // The service's own error handling around routes that refuse as the hashing queue and the store do.
    const app = new Koa();
    app.use(requestId());
    app.use(errorHandler(svc.service.deps));
    app.use((ctx) => {
      if (ctx.path === '/busy') throw serviceUnavailable('server_busy', 'queue full', 7);
      if (ctx.path === '/store') throw serviceUnavailable('store_unavailable', 'store down', 1);
      throw tooManyRequests('too_many_attempts', 'too many', 42);
    });
    server = await listen(app, 0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await svc?.close();
  });

  it.each(ALL)('429 too_many_requests from /auth in %s: Retry-After and the same seconds on the page', async (locale) => {
    // A known point in the minute: the window ends in 37 s.
    svc.clock.t = Math.floor(Date.now() / 60_000) * 60_000 + 60_000 * (ALL.indexOf(locale) + 10) + 23_000;
    const path = `/auth?appru=${encodeURIComponent(APPRU)}`;
    expect((await page(svc.url, path, locale)).res.status).toBe(200);
    const p = await page(svc.url, path, locale);
    expect(p.res.status).toBe(429);
    expect(p.res.headers.get('retry-after')).toBe('37');
    expect(p.lang).toBe(locale);
    const m = msgs(locale);
    expect(p.text).toContain(m['error.too_many_requests.title']);
    expect(p.text).toContain(m['error.retry_after'].replace('{seconds}', '37'));
  });

  it.each(ALL)('429 too_many_attempts and 503 server_busy / store_unavailable in %s', async (locale) => {
    const m = msgs(locale);
    for (const [path, status, seconds, key] of [
      ['/attempts', 429, 42, 'error.too_many_attempts'],
      ['/busy', 503, 7, 'error.server_busy'],
      ['/store', 503, 1, 'error.store_unavailable'],
    ] as const) {
      const p = await page(base, path, locale);
      expect({ status: p.res.status, retry: p.res.headers.get('retry-after'), lang: p.lang }).toEqual({ status, retry: String(seconds), lang: locale });
      expect(p.text).toContain(m[`${key}.title`]);
      const retry = seconds === 1 ? m['error.retry_after.one'] : m['error.retry_after'].replace('{seconds}', String(seconds));
      expect(p.text).toContain(`<p class="retry">${retry}</p>`);
    }
  });
});
