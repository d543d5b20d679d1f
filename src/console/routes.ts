/**
 * The admin console at /admin (docs/console.md): server-rendered pages over the same store,
 * tenant directory and invitation code as the admin API. It exists only when `admin.token` is
 * configured (404 otherwise, like the API). Every page needs a console session (./session.ts);
 * every state-changing form is a same-origin POST carrying the session's CSRF token.
 */
import type Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { FedbridgeError, badRequest, forbidden, internalError, isFedbridgeError, notFound, tooManyRequests } from '../errors.js';
import { sameSecret } from '../http/secrets.js';
import { clientNetwork } from '../actions/ratelimit.js';
import { IDP_RETRY_AFTER_SECONDS } from '../http/middleware.js';
import {
  COOKIE_NAME,
  consoleKey,
  csrfToken,
  csrfValid,
  decodeSession,
  encodeSession,
  fromOwnOrigin,
  isSignedOut,
  markSignedOut,
  newSession,
  sessionCookie,
  touched,
} from './session.js';
import { sendConsolePage, seeOther } from './pages.js';
import { auditConsole, field, sessionOf } from './common.js';
import { consoleView, currentAdminToken } from './source.js';
import { tenantsPage } from './tenants.js';
import { brandingPage, brandingPreview, brandingPost } from './branding.js';
import { activityPage } from './activity.js';
import { createInvitationPost, invitationsPage, revokeInvitationPost } from './invitations.js';

/** Console forms are a few short fields. */
const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

/** Wrong admin tokens per client network per minute (docs/console.md "Signing in"). */
export const SIGNIN_ATTEMPTS_PER_MINUTE = 10;
const MINUTE = 60_000;

/** /admin and below, except /admin/api (the admin API answers JSON there). */
const OTHER_CONSOLE_PATHS = /^\/admin(?:\/(?!api(?:\/|$)).*)?$/;

export type ConsoleHandler = (ctx: Context, deps: AppDeps) => Promise<void> | void;

export function registerConsole(router: Router, deps: AppDeps): void {
  const guard = consoleGuard(deps);
  const session = requireSession(deps);
  const sameSite = sameOrigin(deps);
  const h = (fn: ConsoleHandler): Middleware => async (ctx) => {
    await fn(ctx, deps);
  };
  // A state-changing post: a live session, from our own pages, with its CSRF token.
  const post = (fn: ConsoleHandler): Middleware[] => [guard, session, sameSite, formBody, checkCsrf, h(fn)];

  router.get('/admin', guard, h(signInPage));
  router.post('/admin/sign-in', guard, sameSite, formBody, h(signIn));
  router.post('/admin/sign-out', ...post(signOut));
  router.get('/admin/tenants', guard, session, h(tenantsPage));
  router.get('/admin/tenants/:id/branding', guard, session, h(brandingPage));
  router.post('/admin/tenants/:id/branding', ...post(brandingPost));
  router.get('/admin/tenants/:id/preview', guard, session, h(brandingPreview));
  router.get('/admin/activity', guard, session, h(activityPage));
  router.get('/admin/invitations', guard, session, h(invitationsPage));
  router.post('/admin/invitations', ...post(createInvitationPost));
  router.post('/admin/invitations/:id/revoke', ...post(revokeInvitationPost));
  // Any other /admin address (not the API's) is a console 404 page, not the API's JSON.
  router.all(OTHER_CONSOLE_PATHS, guard, () => {
    throw notFound('not_found', 'no such console page');
  });
}

const secureCookies = (deps: AppDeps) => consoleView(deps).config.server.publicUrl.startsWith('https:');

/**
 * First on every console route: 404 without an admin token; the console key of the token in
 * force; and the console's own error pages (HTML for every /admin page, where the service's
 * error handler would answer JSON under /admin/).
 */
function consoleGuard(deps: AppDeps): Middleware {
  let cached: { token: string; key: Buffer } | null = null;
  return async (ctx: Context, next: Next) => {
    try {
      const token = currentAdminToken(deps);
      if (!token) throw notFound('not_found', 'the console is not configured (admin.token)');
      if (cached?.token !== token) cached = { token, key: consoleKey(token) };
      ctx.state.consoleKey = cached.key;
      await next();
    } catch (raw) {
      consoleError(ctx, deps, raw);
    }
  };
}

/** A live, signed-in session, moved on by this request; else to the sign-in page. */
function requireSession(deps: AppDeps): Middleware {
  return async (ctx: Context, next: Next) => {
    const key = ctx.state.consoleKey as Buffer;
    const now = deps.clock.now();
    const given = ctx.cookies.get(COOKIE_NAME);
    const found = decodeSession(key, given, now);
    if (!found || (await isSignedOut(deps.store, found, now))) {
      if (given !== undefined) ctx.append('Set-Cookie', sessionCookie(null, secureCookies(deps), now));
      seeOther(ctx, '/admin');
      return;
    }
    const s = touched(found, now);
    ctx.state.consoleSession = s;
    ctx.state.consoleCsrf = csrfToken(key, s);
    ctx.append('Set-Cookie', sessionCookie(encodeSession(key, s), secureCookies(deps), now, s.expiresAt));
    await next();
  };
}

/** Posts from another site are refused before their body is read (docs/console.md "Forms"). */
function sameOrigin(deps: AppDeps): Middleware {
  return async (ctx: Context, next: Next) => {
    if (!fromOwnOrigin(ctx, new URL(consoleView(deps).config.server.publicUrl).origin)) {
      throw forbidden('csrf_failed', 'cross-site post to the console');
    }
    await next();
  };
}

async function checkCsrf(ctx: Context, next: Next): Promise<void> {
  const body = ctx.request.body as Record<string, unknown> | undefined;
  if (!csrfValid(ctx.state.consoleKey as Buffer, sessionOf(ctx), body?._csrf)) {
    throw forbidden('csrf_failed', 'missing or wrong CSRF token');
  }
  await next();
}

async function signInPage(ctx: Context, deps: AppDeps): Promise<void> {
  const key = ctx.state.consoleKey as Buffer;
  const now = deps.clock.now();
  const s = decodeSession(key, ctx.cookies.get(COOKIE_NAME), now);
  if (s && !(await isSignedOut(deps.store, s, now))) return seeOther(ctx, '/admin/tenants');
  sendConsolePage(ctx, 'signin', { data: { signedOut: ctx.query.signed_out === '1' } });
}

/**
 * The admin token for a session. Attempts are counted per client network before the token is
 * compared (in constant time); a right token gives its slot back, like a right password.
 */
async function signIn(ctx: Context, deps: AppDeps): Promise<void> {
  const now = deps.clock.now();
  const counter = `console:signin:${clientNetwork(ctx.ip)}`;
  if ((await deps.store.hit(counter, MINUTE, now)) > SIGNIN_ATTEMPTS_PER_MINUTE) {
    // Logged (by consoleError), not audited: a flood of refusals must not grow the audit log.
    throw tooManyRequests('too_many_attempts', 'too many console sign-ins from this network', Math.ceil((MINUTE - (now % MINUTE)) / 1000));
  }
  const given = field(ctx.request.body, 'token', 1024);
  const token = currentAdminToken(deps)!;
  if (!given || !sameSecret(given, token)) {
    auditConsole(ctx, deps, 'signin_failed', { detail: { code: 'invalid_token' } });
    return sendConsolePage(ctx, 'signin', { status: 401, data: { failed: true } });
  }
  await deps.store.release(counter, MINUTE, now);
  const s = newSession(now);
  ctx.state.consoleSession = s;
  ctx.append('Set-Cookie', sessionCookie(encodeSession(ctx.state.consoleKey as Buffer, s), secureCookies(deps), now, s.expiresAt));
  auditConsole(ctx, deps, 'signin');
  seeOther(ctx, '/admin/tenants');
}

async function signOut(ctx: Context, deps: AppDeps): Promise<void> {
  const now = deps.clock.now();
  await markSignedOut(deps.store, sessionOf(ctx), now);
  auditConsole(ctx, deps, 'signout');
  // Replaces the renewed cookie requireSession set with one that deletes it.
  ctx.set('Set-Cookie', sessionCookie(null, secureCookies(deps), now));
  seeOther(ctx, '/admin?signed_out=1');
}

/** The console's error page: the locale files' texts for the code, in the browser's language. */
function consoleError(ctx: Context, deps: AppDeps, raw: unknown): void {
  const err = asFedbridgeError(raw);
  if ((err.status === 502 || err.status === 504) && err.retryAfter === undefined) err.retryAfter = IDP_RETRY_AFTER_SECONDS;
  const fields = { reqId: ctx.state.requestId, code: err.code, status: err.status, detail: err.message };
  if (err.status >= 500) deps.log.error({ ...fields, err: raw }, 'console request failed');
  else deps.log.warn(fields, 'console request refused');
  const i18n = deps.views.i18n;
  const locale = i18n.pick(ctx.get('accept-language') || undefined);
  const base = i18n.has(err.messageKey) ? err.messageKey : 'error.generic';
  const t = (key: string, params?: Record<string, string>) => i18n.t(locale, key, params ?? err.params);
  if (err.retryAfter !== undefined) ctx.set('Retry-After', String(err.retryAfter));
  sendConsolePage(ctx, 'error', {
    status: err.status,
    locale,
    data: {
      code: err.code,
      title: t(`${base}.title`),
      message: t(base),
      advice: t(`${base}.advice`),
      reference: t('error.reference'),
      retry: err.retryAfter
        ? t(err.retryAfter === 1 ? 'error.retry_after.one' : 'error.retry_after', { seconds: String(err.retryAfter) })
        : null,
    },
  });
}

function asFedbridgeError(raw: unknown): FedbridgeError {
  if (isFedbridgeError(raw)) return raw;
  const e = raw as { status?: number };
  // Body parser errors are the client's fault.
  if (e?.status === 413) return new FedbridgeError(413, 'request_too_large', 'request body too large');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return badRequest('invalid_request', 'malformed request');
  return internalError((raw as Error)?.message);
}
