/** Operator routes: liveness, readiness, Prometheus metrics. */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { isLoopbackHost } from '../config/urls.js';
import { FedbridgeError, unauthorized } from '../errors.js';
import { bearerToken, sameSecret } from '../http/secrets.js';
import { STORE_RETRY_AFTER_SECONDS } from '../store/unavailable.js';

/**
 * Browsers ask every page's site for /favicon.ico. The pages have no icon (docs/branding.md), so
 * the answer is an empty 204 a browser keeps for a week: not the error page, not a logged refusal.
 */
export function favicon(ctx: Context): void {
  ctx.set('Cache-Control', 'public, max-age=604800, immutable');
  ctx.status = 204;
}

export function healthz(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

export async function readyz(ctx: Context, deps: AppDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  try {
    await deps.store.ping();
    deps.keys.signingKey(deps.clock.now());
    ctx.body = { status: 'ready', store: deps.store.kind };
  } catch (err) {
    deps.log.error({ err }, 'not ready');
    // False exactly while the store is unreachable (its ping fails at once then, docs/operations.md).
    const notReady = new FedbridgeError(503, 'not_ready', 'store or keys unavailable');
    notReady.retryAfter = STORE_RETRY_AFTER_SECONDS;
    throw notReady;
  }
}

/** Loopback unless a proxy forwarded the request: a forwarded request is not local. */
function isLocalClient(ctx: Context, trustProxy: boolean): boolean {
  const remote = (ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (!isLoopbackHost(remote)) return false;
  return !(trustProxy && ctx.get('x-forwarded-for'));
}

export async function metrics(ctx: Context, deps: AppDeps): Promise<void> {
  const token = deps.config.metrics.token;
  if (token) {
    const given = bearerToken(ctx.get('authorization'));
    if (!given || !sameSecret(given, token)) throw unauthorized('unauthorized', 'metrics need the bearer token');
  } else if (!isLocalClient(ctx, deps.config.server.trustProxy)) {
    throw new FedbridgeError(403, 'forbidden', 'metrics answer loopback clients only (set metrics.token)');
  }
  ctx.type = deps.metrics.registry.contentType;
  ctx.body = await deps.metrics.registry.metrics();
}
