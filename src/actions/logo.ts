/**
 * GET /t/:tenant/logo: a tenant's logo uploaded through the admin API (docs/admin-api.md, Tenant
 * logo), public because the sign-in pages show it. The bytes were checked on upload; an SVG is
 * still served under a CSP that runs no script and loads nothing, in a sandbox.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { notFound } from '../errors.js';

/** What an SVG opened on its own may do: draw, with inline styles; no script, no fetch, no form. */
export const LOGO_SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const LOGO_MAX_AGE_SECONDS = 300;

export async function tenantLogo(ctx: Context, deps: AppDeps): Promise<void> {
  const id = String(ctx.params.tenant ?? '');
  const logo = await deps.directory.getLogo(id);
  if (!logo) throw notFound('not_found', 'this tenant has no logo');
  const etag = `"${logo.etag}"`;
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', `public, max-age=${LOGO_MAX_AGE_SECONDS}`);
  ctx.set('X-Content-Type-Options', 'nosniff');
  // Every logo, not only SVG: a file that is not what it claims still cannot do anything here.
  ctx.set('Content-Security-Policy', LOGO_SVG_CSP);
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
  const match = ctx.get('if-none-match');
  if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    ctx.status = 304;
    return;
  }
  ctx.type = logo.contentType;
  ctx.body = logo.bytes;
}
