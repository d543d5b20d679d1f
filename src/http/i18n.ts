/**
 * Locale files under views/locales; the window's Accept-Language picks one, a tenant's
 * `branding.defaultLocale` is the fallback, and a tenant's `branding.strings` may replace
 * single messages (docs/configuration.md).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Messages = Record<string, string>;

/** A tenant's replacement for one message: one text for every language, or one per language. */
export type StringOverride = string | Partial<Record<string, string>>;

/** The languages the pages come in (a file views/locales/<tag>.json each). */
export const LOCALES = ['en', 'de', 'fr', 'es', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];

/** The set of {name} placeholders in a message, sorted. */
export function placeholdersOf(msg: string): string[] {
  return [...new Set([...msg.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

export class I18n {
  private readonly locales = new Map<string, Messages>();

  constructor(dir: string) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      this.locales.set(f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Messages);
    }
    if (!this.locales.has('en')) throw new Error(`no en.json in ${dir}`);
  }

  get available(): string[] {
    return [...this.locales.keys()];
  }

  /**
   * The best available language for an Accept-Language header (RFC 9110 §12.5.4: q-values
   * honoured, q=0 means "not this one", order breaks ties), or null when none matches.
   */
  match(acceptLanguage: string | undefined): string | null {
    if (!acceptLanguage) return null;
    const wanted = acceptLanguage
      .slice(0, 1024)
      .split(',')
      .slice(0, 32)
      .map((part, i) => {
        const [tag, ...params] = part.trim().split(';');
        const q = params.map((p) => p.trim()).find((p) => /^q=/i.test(p));
        const value = q === undefined ? 1 : /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i.test(q) ? Number(q.slice(2)) : 0;
        return { tag: tag.trim().toLowerCase(), q: value, i };
      })
      .filter((w) => /^[a-z]{1,8}(-[a-z0-9]{1,8})*$/.test(w.tag) && w.q > 0)
      .sort((a, b) => b.q - a.q || a.i - b.i);
    for (const w of wanted) {
      const base = w.tag.split('-')[0];
      if (this.locales.has(base)) return base;
    }
    return null;
  }

  /** Best match for an Accept-Language header, else `fallback` (when available), else en. */
  pick(acceptLanguage: string | undefined, fallback?: string | null): string {
    return this.match(acceptLanguage) ?? (fallback && this.locales.has(fallback) ? fallback : 'en');
  }

  has(key: string): boolean {
    return this.locales.get('en')![key] !== undefined;
  }

  /**
   * A translated message with {name} placeholders filled (values are escaped by the view).
   * `overrides` are a tenant's `branding.strings`, checked against en.json at config load.
   */
  t(locale: string, key: string, params: Record<string, string> = {}, overrides?: Record<string, StringOverride>): string {
    const custom = overrides && Object.hasOwn(overrides, key) ? overrides[key] : undefined;
    const own = typeof custom === 'string' ? custom : custom && Object.hasOwn(custom, locale) ? custom[locale] : undefined;
    const msg = own ?? this.locales.get(locale)?.[key] ?? this.locales.get('en')![key] ?? key;
    return msg.replace(/\{(\w+)\}/g, (m, name: string) => (Object.hasOwn(params, name) ? params[name] : m));
  }
}

/** views/ sits at the package root whether we run from src/ (tests) or dist/src/ (installed). */
export function findViewsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const candidate = join(here, up, 'views');
    if (existsSync(join(candidate, 'locales', 'en.json'))) return candidate;
  }
  throw new Error('views/ directory not found');
}

let catalog: Messages | undefined;

/** en.json: the keys (and their placeholders) a tenant's `branding.strings` may replace. */
export function messageCatalog(): Messages {
  catalog ??= JSON.parse(readFileSync(join(findViewsDir(), 'locales', 'en.json'), 'utf8')) as Messages;
  return catalog;
}
