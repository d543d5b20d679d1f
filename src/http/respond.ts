/** Sending branded pages and JSON errors, with the headers every page carries. */
import type { Context } from 'koa';
import type { AppDeps } from './deps.js';
import type { TenantConfig } from '../config/schema.js';
import { FedbridgeError } from '../errors.js';

export interface PageArgs {
  tenant?: TenantConfig | null;
  status?: number;
  formAction?: string;
  data?: Record<string, unknown>;
}

/**
 * The language of a page: the one the sign-in started with (kept on its transaction), else the
 * best match of the browser's Accept-Language, else the tenant's `branding.defaultLocale`, else en.
 */
export function localeOf(ctx: Context, deps: AppDeps, tenant?: TenantConfig | null): string {
  return (ctx.state.locale as string | undefined) ?? chooseLocale(ctx, deps, tenant);
}

/** Accept-Language first, then the tenant's default (ignores a transaction's locale). */
export function chooseLocale(ctx: Context, deps: AppDeps, tenant?: TenantConfig | null): string {
  return deps.views.i18n.pick(ctx.get('accept-language') || undefined, tenant?.branding.defaultLocale);
}

export function sendPage(ctx: Context, deps: AppDeps, template: string, args: PageArgs = {}): void {
  const page = deps.views.render(template, {
    locale: localeOf(ctx, deps, args.tenant),
    tenant: args.tenant,
    demo: deps.config.demo,
    formAction: args.formAction,
    // A logo uploaded through the admin API, as last seen under this tenant snapshot (docs/branding.md).
    uploadedLogo: args.tenant ? deps.views.logos.get(args.tenant.id, (id) => deps.directory.getLogo(id), deps.directory.current().generation) : null,
    data: { requestId: ctx.state.requestId, ...args.data },
  });
  ctx.status = args.status ?? 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', page.csp);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.body = page.html;
}

export function sendErrorPage(ctx: Context, deps: AppDeps, err: FedbridgeError, tenant?: TenantConfig | null): void {
  const i18n = deps.views.i18n;
  const base = i18n.has(err.messageKey) ? err.messageKey : 'error.generic';
  const locale = localeOf(ctx, deps, tenant);
  const strings = tenant?.branding.strings;
  const t = (key: string) => i18n.t(locale, key, err.params, strings);
  setRetryAfter(ctx, err);
  sendPage(ctx, deps, 'error', {
    tenant,
    status: err.status,
    data: {
      code: err.code,
      title: t(`${base}.title`),
      message: t(base),
      advice: t(`${base}.advice`),
      // When to come back, in words (the same number as Retry-After).
      retry: err.retryAfter
        ? i18n.t(locale, err.retryAfter === 1 ? 'error.retry_after.one' : 'error.retry_after', { seconds: String(err.retryAfter) }, strings)
        : null,
    },
  });
}

export function sendJsonError(ctx: Context, err: FedbridgeError): void {
  ctx.status = err.status;
  setRetryAfter(ctx, err);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: err.code, error_description: err.expose ? err.message : 'internal error' };
}

/** 429 and 503 say when to come back (RFC 9110 §10.2.3: delay in seconds). */
function setRetryAfter(ctx: Context, err: FedbridgeError): void {
  if (err.retryAfter !== undefined) ctx.set('Retry-After', String(err.retryAfter));
}
