/**
 * Bearer authentication of the admin API (`admin.token`; docs/admin-api.md, Authentication).
 * The API does not exist without the token (404). A missing, wrong or malformed token gets a
 * 401 that says nothing more than `{"error":"unauthorized"}`: which of the three it was is no
 * business of an unauthenticated caller. The comparison is constant-time (src/http/secrets.ts).
 */
import type { Context } from 'koa';
import type { AppDeps } from '../../http/deps.js';
import { notFound } from '../../errors.js';
import { bearerToken, sameSecret } from '../../http/secrets.js';

export const ADMIN_REALM = 'Bearer realm="fedbridge-admin"';

/** 404 when the admin API is off (no admin.token). */
export function requireAdminApi(deps: AppDeps): { token: string } {
  const admin = deps.config.admin;
  if (!admin) throw notFound('not_found', 'the admin API is not configured (admin.token)');
  return admin;
}

/**
 * Checks the bearer token; on failure answers the 401 itself and returns false (no error is
 * thrown, so nothing adds a description to the body).
 */
export function checkAdminToken(ctx: Context, deps: AppDeps): boolean {
  const admin = requireAdminApi(deps);
  const given = bearerToken(ctx.get('authorization'));
  if (given !== null && sameSecret(given, admin.token)) return true;
  ctx.status = 401;
  ctx.set('WWW-Authenticate', ADMIN_REALM);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'unauthorized' };
  return false;
}
