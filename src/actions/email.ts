/** POST /auth/email: the person typed a work email; find the organization (home realm). */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { tenantById, tenantForEmail, upnAllowedIn } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import { sendPage } from '../http/respond.js';
import { oneString } from './params.js';
import { loadTransaction } from './transaction.js';
import { beginUpstream } from './start.js';
import { badRequest, forbidden } from '../errors.js';

const EMAIL = /^[^\s@]{1,128}@[A-Za-z0-9.-]{1,127}\.[A-Za-z]{2,}$/;

/**
 * A transaction whose organization is already known (fixed by /t/:tenant/auth, by an
 * invitation, or found from login_hint) is bound to it: an email typed afterwards may
 * only name a user that organization may sign in, never move the sign-in elsewhere.
 */
function stayInTenant(deps: AppDeps, bound: TenantConfig, email: string): void {
  const owner = tenantForEmail(deps.config, email);
  if (owner && owner.id !== bound.id) {
    throw forbidden('tenant_mismatch', 'the sign-in belongs to another organization', { org: bound.displayName });
  }
  if (!upnAllowedIn(bound, email)) {
    throw forbidden('upn_not_in_tenant', "email is outside the tenant's domains", { org: bound.displayName });
  }
}

export async function submitEmail(ctx: Context, deps: AppDeps): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const tx = await loadTransaction(ctx, deps, body.state, false);
  const email = (oneString(body, 'email', 256) ?? '').trim();
  const valid = EMAIL.test(email);
  const bound = tx.tenantId !== null ? tenantById(deps.config, tx.tenantId) : null;
  if (tx.tenantId !== null && !bound) throw badRequest('unknown_state', "the sign-in's organization is no longer configured");
  if (bound && valid) stayInTenant(deps, bound, email);
  const tenant = valid ? (bound ?? tenantForEmail(deps.config, email)) : null;
  if (!tenant) {
    sendPage(ctx, deps, 'email', {
      status: 400,
      data: { state: tx.state, email, unknownOrg: valid, invalidEmail: !valid },
    });
    return;
  }
  if (tenant.policy.requireInvitation && !tx.invitationId) {
    throw forbidden('invitation_required', 'this organization enrolls by invitation only');
  }
  tx.tenantId = tenant.id;
  tx.enteredEmail = email;
  ctx.state.tenantId = tenant.id;
  await beginUpstream(ctx, deps, tx, tenant, true);
}
