/** Cross-cutting middleware: request id, access log, security headers, limits, errors. */
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { AppDeps } from './deps.js';
import { FedbridgeError, badRequest, internalError, isFedbridgeError } from '../errors.js';
import { accessLineWriter, redactUrl } from '../log.js';
import { sendErrorPage, sendJsonError } from './respond.js';
import { tenantById } from './deps.js';

/** Retry-After on a 502/504 page that names no other time (an IdP outage; the breaker names its own). */
export const IDP_RETRY_AFTER_SECONDS = 30;

/** Longest query string accepted: appru + login_hint + client params fit easily. */
export const MAX_QUERY_BYTES = 4096;

export function requestId() {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('x-request-id');
    ctx.state.requestId = /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}

export function accessLog(deps: AppDeps) {
  // One line per request: its fields are fixed and already safe (a validated request id, the
  // path with its query redacted, status, time, address), so it skips the redaction pass, which
  // cost two thirds of the line (bench/introspect.js; every other log line keeps it), and is
  // written by src/log.ts accessLineWriter, as on the lean /introspect path.
  const access = accessLineWriter(deps.log);
  return async (ctx: Context, next: Next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      deps.metrics.httpDuration.observe({ route: String(route), method: ctx.method, status: String(ctx.status) }, ms / 1000);
      access({ reqId: ctx.state.requestId, method: ctx.method, url: redactUrl(ctx.originalUrl), status: ctx.status, ms: Math.round(ms * 10) / 10, ip: ctx.ip });
    }
  };
}

export function securityHeaders() {
  return async (ctx: Context, next: Next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (ctx.protocol === 'https') ctx.set('Strict-Transport-Security', 'max-age=31536000');
  };
}

export function queryLimit() {
  return async (ctx: Context, next: Next) => {
    if (Buffer.byteLength(ctx.querystring) > MAX_QUERY_BYTES) {
      throw new FedbridgeError(414, 'request_too_large', `query string over ${MAX_QUERY_BYTES} bytes`);
    }
    await next();
  };
}

/** Machines (JSON clients) get JSON; people in the auth window get a branded page. */
function wantsJson(ctx: Context): boolean {
  const p = ctx.path;
  return (
    p.startsWith('/introspect') ||
    p.startsWith('/admin/') ||
    p.startsWith('/.well-known/') ||
    p === '/metrics' ||
    p === '/healthz' ||
    p === '/readyz'
  );
}

export function errorHandler(deps: AppDeps) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      // Nothing answered (no route, or the router's 405/501): still a branded page or JSON error.
      if (ctx.status >= 400 && ctx.body == null) {
        if (ctx.status === 404) throw new FedbridgeError(404, 'not_found', 'no such page');
        // An unknown method is the client's fault too: 405, not the router's 501.
        if (ctx.status === 405 || ctx.status === 501) throw new FedbridgeError(405, 'method_not_allowed', `${ctx.method} is not allowed here`);
        throw new FedbridgeError(ctx.status, ctx.status >= 500 ? 'server_error' : 'invalid_request', 'no answer');
      }
    } catch (raw) {
      const err = toFedbridgeError(raw);
      // An IdP that failed or was too slow (502/504) may answer again soon: say when to retry.
      if ((err.status === 502 || err.status === 504) && err.retryAfter === undefined) err.retryAfter = IDP_RETRY_AFTER_SECONDS;
      const logFields = { reqId: ctx.state.requestId, code: err.code, status: err.status, detail: err.message };
      if (err.status >= 500) deps.log.error({ ...logFields, err: raw }, 'request failed');
      else deps.log.warn(logFields, 'request refused');
      if (wantsJson(ctx)) sendJsonError(ctx, err);
      else sendErrorPage(ctx, deps, err, tenantById(deps.directory.current().config, ctx.state.tenantId as string | undefined));
    }
  };
}

function toFedbridgeError(raw: unknown): FedbridgeError {
  if (isFedbridgeError(raw)) return raw;
  const e = raw as { status?: number; expose?: boolean; type?: string; message?: string };
  // Body parser and Koa errors (413 too large, 400 bad JSON, 415) are the client's fault.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    if (e.status === 413) return new FedbridgeError(413, 'request_too_large', 'request body too large');
    if (e.status === 415) return new FedbridgeError(415, 'unsupported_media_type', 'unsupported content type');
    return badRequest('invalid_request', e.expose && e.message ? e.message : 'malformed request');
  }
  return internalError(e?.message);
}
