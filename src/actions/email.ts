/**
 * POST /auth/email: the person typed a work email; find the organization (home realm).
 * The same address takes "use another account" from the password page (`another=1`): the
 * email step again, for the same transaction.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { pinSnapshot, tenantById, tenantForEmail, upnAllowedIn } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import type { Transaction } from '../store/types.js';
import { chooseLocale, sendPage } from '../http/respond.js';
import { oneString } from './params.js';
import { loadTransaction } from './transaction.js';
import { beginUpstream } from './start.js';
import { badRequest, forbidden } from '../errors.js';
import { sameUser } from '../config/domains.js';

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

/**
 * When the tenant requires the signed-in user to be the window's login_hint (docs/configuration.md),
 * another account cannot finish: say so now rather than after the password.
 */
function stayWithHint(tenant: TenantConfig, tx: Transaction, email: string): void {
  if (tenant.policy.requireHintMatch && tx.loginHint && !sameUser(tx.loginHint, email)) {
    throw forbidden('hint_mismatch', 'email differs from login_hint', { upn: email, hint: tx.loginHint });
  }
}

/** "Use another account": back to the email step. Only a tenant found from the typed email is forgotten. */
async function anotherAccount(ctx: Context, deps: AppDeps, tx: Transaction): Promise<void> {
  if (tx.tenantFromEmail) {
    tx.tenantId = null;
    tx.tenantFromEmail = undefined;
  }
  tx.enteredEmail = undefined;
  tx.upstream = {};
  await deps.store.putTransaction(tx);
  ctx.state.tenantId = tx.tenantId ?? undefined;
  const tenant = tx.tenantId !== null ? tenantById(deps.config, tx.tenantId) : null;
  if (tx.tenantId !== null && !tenant) throw badRequest('unknown_state', "the sign-in's organization is no longer configured");
  sendPage(ctx, deps, 'email', { tenant, data: { state: tx.state, email: '', unknownOrg: false, invalidEmail: false } });
}

export async function submitEmail(ctx: Context, deps: AppDeps): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const tx = await loadTransaction(ctx, deps, body.state, false);
  if (oneString(body, 'another', 1) === '1') return anotherAccount(ctx, deps, tx);
  const email = (oneString(body, 'email', 256) ?? '').trim();
  const valid = EMAIL.test(email);
  const bound = tx.tenantId !== null ? tenantById(deps.config, tx.tenantId) : null;
  if (tx.tenantId !== null && !bound) throw badRequest('unknown_state', "the sign-in's organization is no longer configured");
  if (bound && valid) stayInTenant(deps, bound, email);
  const tenant = valid ? (bound ?? tenantForEmail(deps.config, email)) : null;
  if (!tenant) {
    sendPage(ctx, deps, 'email', {
      tenant: bound,
      status: 400,
      data: { state: tx.state, email, unknownOrg: valid, invalidEmail: !valid },
    });
    return;
  }
  if (tenant.policy.requireInvitation && !tx.invitationId) {
    throw forbidden('invitation_required', 'this organization enrolls by invitation only');
  }
  // Only for an organization already known (the email step entered again by "use another
  // account"): on the first email step the typed address only finds the organization.
  if (bound) stayWithHint(bound, tx, email);
  if (!bound) {
    tx.tenantFromEmail = true;
    // Found only now: the tenant's default language applies when the browser named none we have.
    tx.locale = chooseLocale(ctx, deps, tenant);
    ctx.state.locale = tx.locale;
  }
  tx.tenantId = tenant.id;
  tx.enteredEmail = email;
  ctx.state.tenantId = tenant.id;
  await beginUpstream(ctx, deps, tx, tenant, true);
}
