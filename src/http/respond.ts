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

export function localeOf(ctx: Context, deps: AppDeps): string {
  return (ctx.state.locale as string | undefined) ?? deps.views.i18n.pick(ctx.get('accept-language') || undefined);
}

export function sendPage(ctx: Context, deps: AppDeps, template: string, args: PageArgs = {}): void {
  const page = deps.views.render(template, {
    locale: localeOf(ctx, deps),
    tenant: args.tenant,
    demo: deps.config.demo,
    formAction: args.formAction,
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
  const t = (key: string) => i18n.t(localeOf(ctx, deps), key, err.params);
  setRetryAfter(ctx, err);
  sendPage(ctx, deps, 'error', {
    tenant,
    status: err.status,
    data: {
      code: err.code,
      title: t(`${base}.title`),
      message: t(base),
      advice: t(`${base}.advice`),
      retry: err.retryAfter ? i18n.t(localeOf(ctx, deps), 'error.retry_after', { seconds: String(err.retryAfter) }) : null,
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
