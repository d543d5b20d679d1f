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
    expect(translations).toEqual(['de', 'es', 'fr', 'ja']);
  });

  it('fr.json uses one apostrophe (’) and French spacing before : ; ? ! throughout', () => {
    const fr = load('fr');
    const straight = Object.keys(fr).filter((k) => fr[k].includes("'"));
    // A no-break space (U+00A0) before ':' and a narrow one (U+202F) before ; ? ! (never a breakable space).
    const spacing = Object.keys(fr).filter((k) => / [:;?!]|\u00a0[;?!]|\u202f:/.test(fr[k]));
    expect({ straight, spacing }).toEqual({ straight: [], spacing: [] });
    expect(Object.values(fr).some((v) => v.includes('’'))).toBe(true);
  });

  it('ja.json is written in Japanese (no message left in English, apart from names and codes)', () => {
    const ja = load('ja');
    const untranslated = Object.keys(ja).filter((k) => !/[\u3040-\u30ff\u4e00-\u9fff]/.test(ja[k]) || ja[k] === en[k]);
    expect(untranslated).toEqual([]);
  });

  it('es.json differs from en.json in every message a person reads', () => {
    const es = load('es');
    expect(Object.keys(es).filter((k) => es[k] === en[k])).toEqual([]);
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
    ['es-MX,es;q=0.9,en;q=0.8', 'es'],
    ['ja-JP', 'ja'],
    ['en;q=0.4, ja;q=0.6, es;q=0.5', 'ja'],
    ['es;q=0.5, ja;q=0.5', 'es'],
    ['ja;q=0.5, es;q=0.5', 'ja'],
    ['zh-CN, ja;q=0.3', 'ja'],
    ['ja;q=0.001, de;q=0', 'ja'],
    ['ja;q=1.5, es;q=0.2', 'es'],
    ['ja;q=abc, fr;q=0.2', 'fr'],
    ['es ; Q=0.7 , de;q=0.6', 'es'],
    ['<script>, ja', 'ja'],
  ])('%j → %s', (header, locale) => {
    expect(i18n.pick(header)).toBe(locale);
  });

  it('falls back to the given default (a tenant\'s) when nothing matches, and only then', () => {
    expect(i18n.pick(undefined, 'ja')).toBe('ja');
    expect(i18n.pick('xx, *', 'es')).toBe('es');
    expect(i18n.pick('de;q=0', 'fr')).toBe('fr');
    expect(i18n.pick('de', 'ja')).toBe('de');
    expect(i18n.pick(undefined, 'xx')).toBe('en');
    expect(i18n.match('xx')).toBeNull();
  });

  it('a tenant override replaces a message in every language, or per language with the rest untouched', () => {
    const overrides = { 'email.title': 'Enroll your Contoso PC', 'email.next': { de: 'Los', ja: '進む' }, 'error.hint_mismatch': 'Not {hint}' };
    expect(i18n.t('fr', 'email.title', {}, overrides)).toBe('Enroll your Contoso PC');
    expect(i18n.t('de', 'email.next', {}, overrides)).toBe('Los');
    expect(i18n.t('ja', 'email.next', {}, overrides)).toBe('進む');
    expect(i18n.t('es', 'email.next', {}, overrides)).toBe(load('es')['email.next']);
    expect(i18n.t('en', 'error.hint_mismatch', { hint: 'ann@x.test', upn: 'u' }, overrides)).toBe('Not ann@x.test');
    expect(i18n.t('en', 'email.intro', {}, overrides)).toBe(en['email.intro']);
  });

  it('no header → en', () => {
    expect(i18n.pick(undefined)).toBe('en');
  });

  it('lists the translations as available', () => {
    expect([...i18n.available].sort()).toEqual(['de', 'en', 'es', 'fr', 'ja']);
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
