/** Locale files under views/locales; the window's Accept-Language picks one. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Messages = Record<string, string>;

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

  /** Best match for an Accept-Language header (q-values honoured), default en. */
  pick(acceptLanguage: string | undefined): string {
    if (!acceptLanguage) return 'en';
    const wanted = acceptLanguage
      .split(',')
      .map((part) => {
        const [tag, ...params] = part.trim().split(';');
        const q = params.find((p) => p.trim().startsWith('q='));
        return { tag: tag.trim().toLowerCase(), q: q ? Number(q.trim().slice(2)) || 0 : 1 };
      })
      .filter((w) => w.tag && w.q > 0)
      .sort((a, b) => b.q - a.q);
    for (const w of wanted) {
      const base = w.tag.split('-')[0];
      if (this.locales.has(base)) return base;
    }
    return 'en';
  }

  has(key: string): boolean {
    return this.locales.get('en')![key] !== undefined;
  }

  /** A translated message with {name} placeholders filled (values are escaped by the view). */
  t(locale: string, key: string, params: Record<string, string> = {}): string {
    const msg = this.locales.get(locale)?.[key] ?? this.locales.get('en')![key] ?? key;
    return msg.replace(/\{(\w+)\}/g, (m, name: string) => params[name] ?? m);
  }
}
