/** Bearer authentication of the admin API (`admin.token`); the API does not exist without it. */
import type { Context, Next } from 'koa';
import type { AppDeps } from '../../http/deps.js';
import { notFound, unauthorized } from '../../errors.js';
import { bearerToken, sameSecret } from '../../http/secrets.js';


export function requireAdmin(ctx: Context, deps: AppDeps): void {
  const admin = deps.config.admin;
  if (!admin) throw notFound('not_found', 'the admin API is not configured (admin.token)');
  const given = bearerToken(ctx.get('authorization'));
  if (!given || !sameSecret(given, admin.token)) {
    ctx.set('WWW-Authenticate', 'Bearer realm="fedbridge-admin"');
    throw unauthorized('invalid_token', given ? 'wrong admin token' : 'admin token required (Authorization: Bearer)');
  }
}

/** Route middleware: checks the token before any body is parsed. */
export function adminOnly(deps: AppDeps) {
  return async (ctx: Context, next: Next) => {
    requireAdmin(ctx, deps);
    await next();
  };
}
