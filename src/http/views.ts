/**
 * Branded pages: eta templates under views/ (auto-escaped), one layout, locale files.
 * No external resources: the device window may not reach a CDN.
 * What each branding setting changes on the pages: docs/branding.md.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Eta } from 'eta';
import type { TenantConfig } from '../config/schema.js';
import { I18n, findViewsDir } from './i18n.js';


export interface PageOptions {
  locale: string;
  tenant?: TenantConfig | null;
  demo: boolean;
  /** Value of CSP form-action for this page. */
  formAction?: string;
  /** The ETag of the tenant's logo uploaded through the admin API, when it has one (wins over branding.logoUrl). */
  uploadedLogo?: string | null;
  data?: Record<string, unknown>;
}

export interface RenderedPage {
  html: string;
  csp: string;
}

/** The product's own accent: pages without a tenant (or a tenant without primaryColor) use it. */
export const DEFAULT_COLOR = '#0067b8';
const DARK_TEXT = '#1b1b1b';

/** WCAG 2.1 relative luminance of a #rgb or #rrggbb colour. */
function luminance(hex: string): number {
  const h = hex.length === 4 ? hex.replace(/^#(.)(.)(.)$/, '#$1$1$2$2$3$3') : hex;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * The text colour on a button of the tenant's colour: white or near-black, whichever contrasts
 * more (a light primaryColor would otherwise make "Sign in" unreadable).
 */
export function textOn(color: string): string {
  const l = luminance(color);
  const dark = luminance(DARK_TEXT);
  return (1.05) / (l + 0.05) >= (l + 0.05) / (dark + 0.05) ? '#ffffff' : DARK_TEXT;
}

/** The page address of a tenant's uploaded logo; the ETag in the query makes a new upload a new URL. */
export function uploadedLogoPath(tenantId: string, etag: string): string {
  return `/t/${encodeURIComponent(tenantId)}/logo?v=${encodeURIComponent(etag)}`;
}

/**
 * Which tenants have a logo uploaded through the admin API, as last seen (tenant id → ETag, or
 * null for none). Pages render synchronously, so they read this. The tenant directory primes it
 * with every snapshot before serving it (`prime`, src/service.ts), so a page is exact; a look
 * taken under another tenant snapshot or older than `maxAgeMs` is also renewed in the background
 * (docs/branding.md).
 */
export class UploadedLogos {
  private readonly seen = new Map<string, { etag: string | null; at: number; generation: number }>();
  private readonly looking = new Set<string>();

  constructor(
    private readonly maxAgeMs = 5000,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Records what is known now (an upload on this instance, or a look at the store) under a snapshot
   * generation. A look taken under an older generation than the one already recorded is dropped: it
   * may have read the store before the change the newer snapshot was built from. Generation 0 (no
   * snapshot named: an upload's answer, the console) is always taken.
   */
  note(tenantId: string, etag: string | null, generation = 0): void {
    const known = this.seen.get(tenantId);
    if (known && generation > 0 && generation < known.generation) return;
    this.seen.set(tenantId, { etag, at: this.clock(), generation });
  }

  /**
   * Reads the uploaded logo of every tenant of a snapshot the tenant directory is about to serve,
   * and records them under its generation all at once (docs/branding.md): the first page under
   * that snapshot shows a logo uploaded on any instance, and after a restart the first page shows
   * it. A tenant whose read fails, or is not answered within `deadlineMs` (a slow store must not
   * hold back a new snapshot), is left to the background look of `get`; this never throws. Reads
   * run `concurrency` at a time and keep only the ETag.
   */
  async prime(
    snapshot: { generation: number; tenants: ReadonlyMap<string, unknown> },
    read: (id: string) => Promise<{ etag: string } | null>,
    opts: { concurrency?: number; deadlineMs?: number } = {},
  ): Promise<void> {
    const ids = [...snapshot.tenants.keys()];
    const found = new Map<string, string | null>();
    let next = 0;
    let late = false;
    const worker = async () => {
      while (next < ids.length && !late) {
        const id = ids[next++];
        try {
          const logo = await read(id);
          if (!late) found.set(id, logo?.etag ?? null);
        } catch {
          // left to get()'s look
        }
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.deadlineMs ?? 2000);
      timer.unref();
    });
    await Promise.race([Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, ids.length) }, worker)), deadline]);
    late = true;
    clearTimeout(timer);
    for (const id of this.seen.keys()) if (!snapshot.tenants.has(id)) this.seen.delete(id);
    for (const [id, etag] of found) this.note(id, etag, snapshot.generation);
  }

  /**
   * The ETag last seen for the tenant (null: none, undefined: never looked); starts a look with
   * `lookup` when there was none yet, the last one was taken under another `generation` of the
   * tenant directory, or it is older than maxAgeMs. A failed look keeps what was known.
   */
  get(tenantId: string, lookup: (id: string) => Promise<{ etag: string } | null>, generation = 0): string | null | undefined {
    const known = this.seen.get(tenantId);
    const stale = !known || known.generation !== generation || this.clock() - known.at > this.maxAgeMs;
    if (stale && !this.looking.has(tenantId)) {
      this.looking.add(tenantId);
      Promise.resolve()
        .then(() => lookup(tenantId))
        .then(
          (logo) => this.note(tenantId, logo?.etag ?? null, generation),
          () => undefined,
        )
        .finally(() => this.looking.delete(tenantId));
    }
    return known?.etag;
  }

  /** Resolves when no look is running (tests). */
  async settled(): Promise<void> {
    while (this.looking.size) await new Promise((r) => setTimeout(r, 5));
  }
}

export class Views {
  private readonly eta: Eta;
  readonly i18n: I18n;
  readonly logos = new UploadedLogos();

  constructor(dir: string = findViewsDir()) {
    this.eta = new Eta({ views: dir, autoEscape: true, cache: true });
    this.i18n = new I18n(join(dir, 'locales'));
  }

  render(template: string, opts: PageOptions): RenderedPage {
    const nonce = randomBytes(16).toString('base64');
    const tenant = opts.tenant ?? null;
    // Without a tenant (an unknown address, a refused link) the page keeps the product's neutral look.
    const branding = tenant?.branding ?? {};
    const logo = tenant && opts.uploadedLogo ? uploadedLogoPath(tenant.id, opts.uploadedLogo) : (branding.logoUrl ?? null);
    const color = branding.primaryColor ?? DEFAULT_COLOR;
    // A tenant's own wording (branding.strings) wins over the locale files.
    const t = (key: string, params?: Record<string, string>) => this.i18n.t(opts.locale, key, params, branding.strings);
    const html = this.eta.render(`./${template}`, {
      ...opts.data,
      t,
      nonce,
      locale: opts.locale,
      demo: opts.demo,
      tenant,
      name: tenant?.displayName ?? 'Fedbridge',
      color,
      onColor: textOn(color),
      logoUrl: logo,
      signInText: branding.signInText ?? null,
      support: { email: branding.supportEmail ?? null, url: branding.supportUrl ?? null },
      privacyUrl: branding.privacyUrl ?? null,
      termsUrl: branding.termsUrl ?? null,
    });
    // logoUrl passed the config's secureUrl check (https://, http:// only on loopback); an uploaded one is 'self'.
    const imgSrc = logo && /^https?:\/\//.test(logo) ? ` ${new URL(logo).origin}` : '';
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
