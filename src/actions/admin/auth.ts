/**
 * Bearer authentication of the admin API (`admin.token`; docs/admin-api.md, Authentication).
 * The API does not exist without the token (404). A missing, wrong or malformed token gets a
 * 401 that says nothing more than `{"error":"unauthorized"}`: which of the three it was is no
 * business of an unauthenticated caller. The comparison is constant-time (src/http/secrets.ts).
 */
import type { Context } from 'koa';
import type { AppDeps } from '../../http/deps.js';
import { notFound, tooManyRequests } from '../../errors.js';
import { bearerToken, sameSecret } from '../../http/secrets.js';
import { clientNetwork } from '../ratelimit.js';

const MINUTE = 60_000;

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
export async function checkAdminToken(ctx: Context, deps: AppDeps): Promise<boolean> {
  const admin = requireAdminApi(deps);
  // Each attempt takes a slot before the comparison, so concurrent guesses cannot slip past the
  // limit; a right token gives its slot back (like a right password).
  // limits.adminTokenPerIp wrong tokens per client network per minute (docs/admin-api.md, Authentication).
  const limit = deps.config.limits.adminTokenPerIp;
  const now = deps.clock.now();
  const counter = `admin:token:${clientNetwork(ctx.ip)}`;
  if (limit > 0 && (await deps.store.hit(counter, MINUTE, now)) > limit) {
    throw tooManyRequests('too_many_attempts', 'too many wrong admin tokens from this network', Math.ceil((MINUTE - (now % MINUTE)) / 1000));
  }
  const given = bearerToken(ctx.get('authorization'));
  if (given !== null && sameSecret(given, admin.token)) {
    if (limit > 0) await deps.store.release(counter, MINUTE, now);
    return true;
  }
  ctx.status = 401;
  ctx.set('WWW-Authenticate', ADMIN_REALM);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'unauthorized' };
  return false;
}
