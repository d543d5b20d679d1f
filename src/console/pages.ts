/**
 * Rendering the console's pages (views/admin/*.eta, auto-escaped) with their headers
 * (docs/console.md "Headers"): a strict CSP whose only inline style and script carry a fresh
 * nonce, `Cache-Control: no-store`, no framing (the branding page may frame its own preview).
 */
import { randomBytes } from 'node:crypto';
import { Eta } from 'eta';
import type { Context } from 'koa';
import QRCode from 'qrcode';
import { findViewsDir } from '../http/i18n.js';

export interface ConsolePageOptions {
  status?: number;
  /** The nav entry to mark as the current page. */
  nav?: 'tenants' | 'activity' | 'invitations';
  /** Pages that frame the sign-in preview (same origin only). */
  framesPreview?: boolean;
  /** The page's language (console pages are English; error pages follow Accept-Language). */
  locale?: string;
  data?: Record<string, unknown>;
}

let eta: Eta | undefined;

function engine(): Eta {
  eta ??= new Eta({ views: findViewsDir(), autoEscape: true, cache: true });
  return eta;
}

/** Headers every console answer carries, pages and redirects alike. */
export function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
}

export function consoleCsp(nonce: string, framesPreview = false): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    ...(framesPreview ? ["frame-src 'self'", "connect-src 'self'"] : []),
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function sendConsolePage(ctx: Context, template: string, opts: ConsolePageOptions = {}): void {
  const nonce = randomBytes(16).toString('base64');
  const html = engine().render(`./admin/${template}`, {
    requestId: ctx.state.requestId,
    csrf: ctx.state.consoleCsrf ?? null,
    signedIn: Boolean(ctx.state.consoleSession),
    nav: opts.nav ?? null,
    locale: opts.locale ?? 'en',
    ...opts.data,
    nonce,
  });
  noStore(ctx);
  ctx.status = opts.status ?? 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', consoleCsp(nonce, opts.framesPreview));
  ctx.body = html;
}

/** 303 See Other: after a post, the browser gets the page with GET. Only our own paths. */
export function seeOther(ctx: Context, path: string): void {
  noStore(ctx);
  ctx.status = 303;
  ctx.redirect(path.startsWith('/admin') ? path : '/admin');
}

/**
 * A QR code of `text` as inline SVG markup (only the library's own elements and attributes:
 * `svg`, `path`, numbers and colours; no style attribute, so the page's CSP holds), named for
 * screen readers.
 */
export async function qrSvg(text: string, label: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 240 });
  const escaped = label.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${escaped}" class="qr" `);
}
