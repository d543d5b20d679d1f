/**
 * Graceful stop (issue #11, "Graceful operation"). On SIGTERM the service:
 *  1. says it is not ready at once: `/readyz` answers 503 `not_ready` (with Retry-After), and
 *     every answer carries `Connection: close`, so load balancers and keep-alive clients move on;
 *  2. keeps serving for `announceMs` (a load balancer polls readiness every few seconds),
 *     then stops accepting connections and closes idle ones;
 *  3. lets requests in flight finish, for at most `boundMs` (then cuts what is left);
 *  4. closes the store, and the caller exits.
 */
import type { Server } from 'node:http';
import type { Context, Next } from 'koa';
import type Koa from 'koa';
import { FedbridgeError } from '../errors.js';
import { sendJsonError } from '../http/respond.js';

export interface DrainOptions {
  /** How long the listener stays open after readiness turned false. */
  announceMs: number;
  /** Longest wait for requests in flight once the listener is closed. */
  boundMs: number;
}

export const DRAIN_DEFAULTS: Readonly<DrainOptions> = { announceMs: 2_000, boundMs: 10_000 };

export class Lifecycle {
  /** True from the stop signal on: readiness is false and connections are not kept alive. */
  draining = false;
}

/**
 * While draining, `/readyz` is 503 (before any store check) and no
 * connection is kept alive. (src/actions/ops.ts answers `/readyz` the rest of the time.)
 */
export function drainGate(lifecycle: Lifecycle) {
  return async (ctx: Context, next: Next) => {
    if (lifecycle.draining && ctx.path === '/readyz') {
      const err = new FedbridgeError(503, 'not_ready', 'shutting down');
      err.retryAfter = 1;
      sendJsonError(ctx, err);
      ctx.set('Connection', 'close');
      return;
    }
    try {
      await next();
    } finally {
      // Decided when the answer leaves: a request that began before the signal ends its connection too.
      if (lifecycle.draining) ctx.set('Connection', 'close');
    }
  };
}

/**
 * Puts the gate into `app` (before its first request) after the request id, access log and
 * security headers (src/http/app.ts: the first three), so a 503 while draining is logged like
 * any answer, and before everything else.
 */
export function installDrainGate(app: Koa, lifecycle: Lifecycle): void {
  app.middleware.splice(Math.min(3, app.middleware.length), 0, drainGate(lifecycle));
}

export interface DrainResult {
  /** Requests still running when the bound ran out (their connections were cut). */
  cut: number;
}

/** Steps 1–3 above; resolves once the server has no connection left. */
export async function drain(server: Server, lifecycle: Lifecycle, opts: DrainOptions = DRAIN_DEFAULTS): Promise<DrainResult> {
  lifecycle.draining = true;
  await new Promise((r) => setTimeout(r, opts.announceMs).unref());
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  let cut = 0;
  const bound = new Promise<'bound'>((r) => setTimeout(() => r('bound'), opts.boundMs).unref());
  if ((await Promise.race([closed.then(() => 'closed' as const), bound])) === 'bound') {
    cut = await new Promise<number>((r) => server.getConnections((_e, n) => r(n ?? 0)));
    server.closeAllConnections();
    await closed;
  }
  return { cut };
}
