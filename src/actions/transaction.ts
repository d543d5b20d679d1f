/** Loading the transaction a form or callback refers to, with clear refusals. */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { tenantById } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import type { Transaction } from '../store/types.js';
import type { Upstream } from '../upstreams/types.js';
import { badRequest } from '../errors.js';

const STATE = /^[A-Za-z0-9_-]{16,128}$/;

export interface Loaded {
  tx: Transaction;
  tenant: TenantConfig;
  upstream: Upstream;
}

/**
 * Reads (take=false) or atomically consumes (take=true) the transaction of `state`.
 * Unknown, expired and already-used states all end here: no second token.
 */
export async function loadTransaction(ctx: Context, deps: AppDeps, state: unknown, take: boolean): Promise<Transaction> {
  if (typeof state !== 'string' || !STATE.test(state)) throw badRequest('unknown_state', 'missing or malformed state');
  const now = deps.clock.now();
  const tx = take ? await deps.store.takeTransaction(state, now) : await deps.store.getTransaction(state, now);
  if (!tx) throw badRequest('unknown_state', 'unknown, expired or already used sign-in');
  ctx.state.tenantId = tx.tenantId ?? undefined;
  ctx.state.locale = tx.locale;
  return tx;
}

export function withTenant(deps: AppDeps, tx: Transaction): Loaded {
  const tenant = tenantById(deps.config, tx.tenantId);
  const upstream = tenant ? deps.upstreams.get(tenant.id) : undefined;
  if (!tenant || !upstream) throw badRequest('unknown_state', 'the sign-in has no organization yet');
  return { tx, tenant, upstream };
}
