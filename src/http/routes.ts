/** The routes table: every URL the service answers, in one place (README, The sign-in flow). */
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import type { AppDeps } from './deps.js';
import { startSignIn } from '../actions/start.js';
import { submitEmail } from '../actions/email.js';
import { submitPassword } from '../actions/password.js';
import { upstreamReturn } from '../actions/callback.js';
import { upstreamMetadata } from '../actions/metadata.js';
import { kinds } from '../upstreams/registry.js';
import type { UpstreamKind } from '../upstreams/types.js';
import { introspect } from '../actions/introspect.js';
import { jwks, openidConfiguration } from '../actions/wellknown.js';
import { favicon, healthz, metrics, readyz } from '../actions/ops.js';
import { device, home } from '../actions/demo.js';
import { tenantLogo } from '../actions/logo.js';
import { discover, discoveryProbe } from '../actions/discovery.js';
import { registerConsole } from '../console/routes.js';
import { registerAdminApi } from '../actions/admin/index.js';

/** Forms from the auth window are tiny. */
const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

export function buildRouter(deps: AppDeps): Router {
  const r = new Router();
  const h = (fn: (ctx: Context, deps: AppDeps) => unknown) => async (ctx: Context) => {
    await fn(ctx, deps);
  };

  r.get('/', h(home));
  r.get('/auth', (ctx) => startSignIn(ctx, deps));
  r.get('/t/:tenant/auth', (ctx) => startSignIn(ctx, deps, ctx.params.tenant));
  r.get('/t/:tenant/logo', h(tenantLogo)); // uploaded through the admin API; the pages show it
  r.post('/auth/email', formBody, h(submitEmail));
  r.post('/auth/password', formBody, h(submitPassword));
  // Each upstream kind's return routes and metadata, from its descriptor (src/upstreams/<kind>/).
  for (const kind of kinds as readonly UpstreamKind[]) {
    for (const route of kind.returnRoutes ?? []) {
      const body = bodyParser({ enableTypes: ['form'], formLimit: route.maxBodyBytes });
      const handle = (ctx: Context) => upstreamReturn(ctx, deps, kind, route);
      if (route.methods.includes('GET')) r.get(route.path, handle);
      if (route.methods.includes('POST')) r.post(route.path, body, handle);
    }
    if (kind.metadataRoute) r.get(kind.metadataRoute, (ctx) => upstreamMetadata(ctx, deps, kind));
  }
  r.post('/demo/device', formBody, h(device));

  r.get('/.well-known/openid-configuration', h(openidConfiguration));
  r.get('/.well-known/jwks.json', h(jwks));
  r.post('/introspect', h(introspect)); // reads its own form/JSON body (src/http/rawbody.ts)
  // Discovery reads its own raw XML body (no form/JSON parser); 404 unless `discovery` is configured.
  r.get('/EnrollmentServer/Discovery.svc', h(discoveryProbe));
  r.post('/EnrollmentServer/Discovery.svc', h(discover));

  // The admin API and its OpenAPI document, from the operation tables (docs/admin-api.md).
  registerAdminApi(r, deps);

  registerConsole(r, deps); // the admin console at /admin (docs/console.md)

  r.get('/favicon.ico', h(favicon)); // no icon: an empty 204, cached (docs/branding.md)
  r.get('/healthz', h(healthz));
  r.get('/readyz', h(readyz));
  r.get('/metrics', h(metrics));
  return r;
}
