/** App assembly: middleware in order, then the routes table. */
import Koa from 'koa';
import type { AppDeps } from './deps.js';
import { accessLog, errorHandler, queryLimit, requestId, securityHeaders } from './middleware.js';
import { buildRouter } from './routes.js';

export function createApp(deps: AppDeps): Koa {
  // Behind one trusted proxy, the client is the address that proxy appended (the last
  // X-Forwarded-For entry); entries before it are whatever the client wrote, so they
  // must never decide rate limits.
  const trustProxy = deps.config.server.trustProxy;
  const app = new Koa({ proxy: trustProxy, maxIpsCount: trustProxy ? 1 : 0 });
  // Koa would print errors itself; ours are logged once, structured, by errorHandler.
  app.silent = true;
  const router = buildRouter(deps);
  app.use(requestId());
  app.use(accessLog(deps));
  app.use(securityHeaders());
  app.use(errorHandler(deps));
  app.use(queryLimit());
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
