/**
 * Upstream returns: every kind's return routes (GET|POST /callback/oidc, POST /saml/:tenant/acs,
 * POST /wsfed/:tenant) end here (docs/upstreams.md). The transaction is found by the kind's
 * state parameter, must belong to that kind and to the route's tenant, and is taken atomically
 * before the kind validates the answer, so a second answer for it gets an error page.
 */
import type { Context } from 'koa';
import { pinSnapshot, type AppDeps } from '../http/deps.js';
import { badRequest } from '../errors.js';
import type { ReturnRoute, UpstreamKind } from '../upstreams/types.js';
import { loadTransaction, withTenant } from './transaction.js';
import { finishSignIn } from './finish.js';

export function callbackParams(ctx: Context): Record<string, string> {
  const raw = { ...(ctx.query as Record<string, unknown>), ...((ctx.request.body ?? {}) as Record<string, unknown>) };
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw badRequest('invalid_request', `${k} must be given once`);
    params[k] = v;
  }
  return params;
}

export async function upstreamReturn(ctx: Context, deps: AppDeps, kind: UpstreamKind, route: ReturnRoute): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  const params = callbackParams(ctx);
  const routeTenant = typeof ctx.params?.tenant === 'string' ? ctx.params.tenant : undefined;
  // Checked before taking: an answer sent to the wrong tenant's or kind's route burns nothing.
  const peek = withTenant(deps, await loadTransaction(ctx, deps, params[route.stateParam], false));
  if (routeTenant !== undefined && peek.tenant.id !== routeTenant) throw badRequest('unknown_state', 'this sign-in belongs to another organization');
  if (peek.upstream.kind !== kind.kind || !peek.upstream.complete) throw badRequest('unknown_state', 'this sign-in did not go to that kind of IdP');
  const tx = await loadTransaction(ctx, deps, peek.tx.state, true);
  const method = ctx.method === 'POST' ? 'POST' : 'GET';
  const identity = await peek.upstream.complete(tx, { method, params, ...(routeTenant ? { tenantId: routeTenant } : {}) });
  await finishSignIn(ctx, deps, tx, peek.tenant, identity);
}
