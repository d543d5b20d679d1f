/** Bearer authentication of the admin API (`admin.token`); the API does not exist without it. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { AppDeps } from '../../http/deps.js';
import { notFound, unauthorized } from '../../errors.js';

// Digests first: constant-time whatever the lengths. The token is a random secret, so no slow KDF.
const digest = (s: string) => createHash('sha256').update(s).digest();

export function requireAdmin(ctx: Context, deps: AppDeps): void {
  const admin = deps.config.admin;
  if (!admin) throw notFound('not_found', 'the admin API is not configured (admin.token)');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (!m || !timingSafeEqual(digest(m[1]!), digest(admin.token))) {
    ctx.set('WWW-Authenticate', 'Bearer realm="fedbridge-admin"');
    throw unauthorized('invalid_token', m ? 'wrong admin token' : 'admin token required (Authorization: Bearer)');
  }
}

/** Route middleware: checks the token before any body is parsed. */
export function adminOnly(deps: AppDeps) {
  return async (ctx: Context, next: Next) => {
    requireAdmin(ctx, deps);
    await next();
  };
}
