/**
 * Branded pages: eta templates under views/ (auto-escaped), one layout, locale files.
 * No external resources: the device window may not reach a CDN.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Eta } from 'eta';
import type { TenantConfig } from '../config/schema.js';
import { I18n, findViewsDir } from './i18n.js';


export interface PageOptions {
  locale: string;
  tenant?: TenantConfig | null;
  demo: boolean;
  /** Value of CSP form-action for this page. */
  formAction?: string;
  data?: Record<string, unknown>;
}

export interface RenderedPage {
  html: string;
  csp: string;
}

const DEFAULT_COLOR = '#0067b8';

export class Views {
  private readonly eta: Eta;
  readonly i18n: I18n;

  constructor(dir: string = findViewsDir()) {
    this.eta = new Eta({ views: dir, autoEscape: true, cache: true });
    this.i18n = new I18n(join(dir, 'locales'));
  }

  render(template: string, opts: PageOptions): RenderedPage {
    const nonce = randomBytes(16).toString('base64');
    const branding = opts.tenant?.branding ?? {};
    const logo = branding.logoUrl;
    // A tenant's own wording (branding.strings) wins over the locale files.
    const t = (key: string, params?: Record<string, string>) => this.i18n.t(opts.locale, key, params, branding.strings);
    const html = this.eta.render(`./${template}`, {
      ...opts.data,
      t,
      nonce,
      locale: opts.locale,
      demo: opts.demo,
      tenant: opts.tenant ?? null,
      color: branding.primaryColor ?? DEFAULT_COLOR,
      logoUrl: logo ?? null,
    });
    const imgSrc = logo && /^https:\/\//.test(logo) ? ` ${new URL(logo).origin}` : '';
    const csp = [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      `img-src 'self' data:${imgSrc}`,
      `form-action ${opts.formAction ?? "'self'"}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; ');
    return { html, csp };
  }
}
