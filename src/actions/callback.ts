/**
 * Upstream returns (GET|POST /callback/oidc, and later SAML ACS / WS-Fed): the transaction
 * is taken atomically first, so a second callback for it gets an error page.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { badRequest } from '../errors.js';
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

/**
 * `routeTenantId`: the tenant a per-tenant callback route names (`/saml/:tenant/acs`,
 * `/wsfed/:tenant`); the transaction must be one of that tenant (contract §2, tenant binding),
 * so that an answer posted to one tenant's route can never finish another tenant's sign-in.
 */
export async function upstreamCallback(ctx: Context, deps: AppDeps, kind: string, stateParam = 'state', routeTenantId?: string): Promise<void> {
  const params = callbackParams(ctx);
  const { tx, tenant, upstream } = withTenant(deps, await loadTransaction(ctx, deps, params[stateParam], true));
  if (routeTenantId !== undefined && routeTenantId !== tenant.id) {
    throw badRequest('unknown_state', "the answer names a sign-in of another organization than its route's");
  }
  if (upstream.kind !== kind || !upstream.complete) throw badRequest('unknown_state', 'this sign-in did not go to that kind of IdP');
  const identity = await upstream.complete(tx, params);
  await finishSignIn(ctx, deps, tx, tenant, identity);
}
