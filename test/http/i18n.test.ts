/**
 * Locale files under views/locales: every translation carries exactly en.json's keys and
 * placeholders, Accept-Language picks the right one, and the pages come out in it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { I18n, type Messages } from '../../src/http/i18n.js';
import { decodeEntities } from '../helpers/html.js';
import { startService, type TestService } from '../helpers/service.js';

const LOCALES = join(dirname(fileURLToPath(import.meta.url)), '../../views/locales');
const APPRU = 'ms-app://windows.immersivecontrolpanel';

function load(name: string): Messages {
  return JSON.parse(readFileSync(join(LOCALES, `${name}.json`), 'utf8')) as Messages;
}

const en = load('en');
const translations = readdirSync(LOCALES)
  .filter((f) => f.endsWith('.json') && f !== 'en.json')
  .map((f) => f.replace(/\.json$/, ''))
  .sort();

/** The set of {name} placeholders in a message, sorted. */
function placeholders(msg: string): string[] {
  return [...new Set([...msg.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

describe('locale files', () => {
  it('has the translations this test was written for', () => {
    expect(translations).toEqual(expect.arrayContaining(['de', 'fr']));
  });

  it('en.json is a flat map of non-empty strings', () => {
    for (const [key, value] of Object.entries(en)) {
      expect(typeof value, key).toBe('string');
      expect(value.trim(), key).not.toBe('');
    }
  });

  describe.each(translations)('%s.json', (locale) => {
    const messages = load(locale);

    it('has exactly the keys of en.json', () => {
      const missing = Object.keys(en).filter((k) => !Object.hasOwn(messages, k));
      const extra = Object.keys(messages).filter((k) => !Object.hasOwn(en, k));
      expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    });

    it('every message is a non-empty string', () => {
      const bad = Object.entries(messages)
        .filter(([, v]) => typeof v !== 'string' || v.trim() === '')
        .map(([k]) => k);
      expect(bad).toEqual([]);
    });

    it("keeps each message's placeholders exactly as en.json has them", () => {
      const mismatched: Record<string, { en: string[]; [locale: string]: string[] }> = {};
      for (const key of Object.keys(en)) {
        if (typeof messages[key] !== 'string') continue; // reported by the key test
        const want = placeholders(en[key]);
        const got = placeholders(messages[key]);
        if (want.join() !== got.join()) mismatched[key] = { en: want, [locale]: got };
      }
      expect(mismatched).toEqual({});
    });
  });
});

describe('I18n.pick', () => {
  const i18n = new I18n(LOCALES);

  it.each([
    ['de-DE,de;q=0.9,en;q=0.8', 'de'],
    ['fr-CA', 'fr'],
    ['FR-ca', 'fr'],
    ['de', 'de'],
    ['xx', 'en'],
    ['xx-YY, zz;q=0.5', 'en'],
    ['en;q=0.5, fr;q=0.9', 'fr'],
    ['de;q=0, fr', 'fr'],
    ['de;q=0', 'en'],
    ['fr;q=0.0, de;q=0.1', 'de'],
    ['*', 'en'],
    ['', 'en'],
  ])('%j → %s', (header, locale) => {
    expect(i18n.pick(header)).toBe(locale);
  });

  it('no header → en', () => {
    expect(i18n.pick(undefined)).toBe('en');
  });

  it('lists the translations as available', () => {
    expect(i18n.available).toEqual(expect.arrayContaining(['en', 'de', 'fr']));
  });

  it('fills placeholders in a translated message', () => {
    expect(i18n.t('de', 'error.hint_mismatch', { upn: 'ann@contoso.test', hint: 'ben@contoso.test' })).toBe(
      load('de')['error.hint_mismatch'].replace('{upn}', 'ann@contoso.test').replace('{hint}', 'ben@contoso.test'),
    );
  });
});

describe('pages over HTTP', () => {
  let svc: TestService;
  const de = load('de');
  const fr = load('fr');

  beforeAll(async () => {
    svc = await startService();
  });
  afterAll(async () => {
    await svc?.close();
  });

  async function page(query: string, acceptLanguage: string) {
    const res = await fetch(`${svc.url}/auth?${query}`, { redirect: 'manual', headers: { 'accept-language': acceptLanguage } });
    const raw = await res.text();
    return { res, raw, text: decodeEntities(raw) };
  }

  it('shows the email page in German for Accept-Language: de', async () => {
    const { res, raw, text } = await page(`appru=${encodeURIComponent(APPRU)}`, 'de');
    expect(res.status).toBe(200);
    expect(raw).toContain('<html lang="de">');
    for (const key of ['email.title', 'email.intro', 'email.label', 'email.next']) expect(text, key).toContain(de[key]);
    expect(text).not.toContain(en['email.intro']);
  });

  it('shows an error page in French for Accept-Language: fr', async () => {
    const { res, raw, text } = await page('appru=javascript:alert(1)', 'fr');
    expect(res.status).toBe(400);
    expect(raw).toContain('<html lang="fr">');
    for (const key of ['error.invalid_appru.title', 'error.invalid_appru', 'error.invalid_appru.advice', 'error.reference']) {
      expect(text, key).toContain(fr[key]);
    }
    expect(text).not.toContain(en['error.invalid_appru.title']);
  });

  it('falls back to English for an unknown language', async () => {
    const { raw, text } = await page(`appru=${encodeURIComponent(APPRU)}`, 'xx');
    expect(raw).toContain('<html lang="en">');
    expect(text).toContain(en['email.title']);
  });
});
