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

/**
 * The answer's parameters, from one source, chosen by the request's method among the route's
 * (docs/upstreams.md): a POST's form body only (what the SAML and WS-Fed POST bindings sign and
 * OIDC form_post sends), a GET's query string only. A query string on a POST is not read, so
 * nothing there can add to the body or shadow it. A parameter given twice, in one source or in
 * the body and again in the query, is refused with 400 `invalid_request`.
 */
export function callbackParams(ctx: Context, route: ReturnRoute): Record<string, string> {
  const method = ctx.method === 'POST' ? 'POST' : 'GET'; // HEAD is answered as GET
  if (!route.methods.includes(method)) throw badRequest('invalid_request', 'this return route does not take that method');
  const query = ctx.query as Record<string, unknown>;
  const raw = method === 'POST' ? ((ctx.request.body ?? {}) as Record<string, unknown>) : query;
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    // Never echo the name: it is the sender's text.
    if (typeof v !== 'string' || (method === 'POST' && Object.hasOwn(query, k))) throw badRequest('invalid_request', 'a parameter was given more than once');
    params[k] = v;
  }
  return params;
}

export async function upstreamReturn(ctx: Context, deps: AppDeps, kind: UpstreamKind, route: ReturnRoute): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  const params = callbackParams(ctx, route);
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
