/**
 * The end of every sign-in: policy (tenant domains, hint match, groups, MFA, invitation),
 * then the token, then the page that POSTs it as `wresult` to the transaction's appru.
 * Every upstream kind ends here, so every kind gets the same policy.
 */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { audienceOf, upnAllowedIn } from '../http/deps.js';
import { sameUser } from '../config/domains.js';
import type { TenantConfig } from '../config/schema.js';
import type { Transaction } from '../store/types.js';
import type { Identity } from '../tokens/claims.js';
import { mintToken } from '../tokens/mint.js';
import { FedbridgeError, badRequest, forbidden } from '../errors.js';
import { sendPage } from '../http/respond.js';
import { formActionFor } from './appru.js';

export function checkPolicy(tenant: TenantConfig, tx: Transaction, identity: Identity): void {
  const p = tenant.policy;
  // Tenant binding (docs/configuration.md): a tenant's IdP vouches for its own domains only, so that
  // no tenant can mint a token naming a user of another organization.
  if (!upnAllowedIn(tenant, identity.upn)) {
    throw forbidden('upn_not_in_tenant', 'signed-in user is outside the tenant\'s domains', { org: tenant.displayName });
  }
  if (p.requireHintMatch && tx.loginHint && !sameUser(tx.loginHint, identity.upn)) {
    throw forbidden('hint_mismatch', 'signed-in user differs from login_hint', { upn: identity.upn, hint: tx.loginHint });
  }
  if (p.allowedGroups.length) {
    if (identity.groups === null) throw forbidden('groups_unavailable', 'group membership could not be read');
    if (!identity.groups.some((g) => p.allowedGroups.includes(g))) throw forbidden('not_in_group', 'user is in none of the allowed groups');
  }
  // Each kind reports MFA in amr (docs/upstreams.md): no per-kind branch here.
  if (p.requireMfa && !identity.amr.includes('mfa')) {
    throw forbidden('mfa_required', 'the identity provider did not report multi-factor authentication');
  }
}

async function spendInvitation(deps: AppDeps, tx: Transaction, tenant: TenantConfig, identity: Identity): Promise<void> {
  if (!tx.invitationId) return;
  const now = deps.clock.now();
  const inv = await deps.store.getInvitation(tx.invitationId, now);
  if (!inv) throw badRequest('invitation_expired', 'invitation expired during sign-in');
  if (inv.tenantId !== tenant.id) throw forbidden('invitation_other_tenant', 'invitation belongs to another organization');
  if (!sameUser(inv.upn, identity.upn)) throw forbidden('invitation_other_user', 'invitation is for another user');
  if (!(await deps.store.useInvitation(inv.id, now))) throw badRequest('invitation_used', 'invitation already used');
}

export async function finishSignIn(ctx: Context, deps: AppDeps, tx: Transaction, tenant: TenantConfig, identity: Identity): Promise<void> {
  const now = deps.clock.now();
  const audit = { tenantId: tenant.id, subject: identity.upn, ip: ctx.ip, requestId: ctx.state.requestId as string };
  try {
    checkPolicy(tenant, tx, identity);
    await spendInvitation(deps, tx, tenant, identity);
  } catch (err) {
    if (err instanceof FedbridgeError) {
      deps.metrics.signins.inc({ tenant: tenant.id, idp: identity.idp.kind, result: err.code });
      deps.audit.push({ at: now, type: 'signin.refused', ...audit, detail: { code: err.code } });
    }
    throw err;
  }
  const { token, claims } = await mintToken(deps.keys, {
    identity,
    issuer: deps.config.server.publicUrl,
    audience: audienceOf(deps.config, tenant),
    tenantId: tenant.id,
    ttlSeconds: deps.config.tokens.ttlSeconds,
    loginHint: tx.loginHint,
    client: tx.client,
    invitationId: tx.invitationId,
    now,
  });
  deps.metrics.signins.inc({ tenant: tenant.id, idp: identity.idp.kind, result: 'ok' });
  deps.audit.push({ at: now, type: 'signin.ok', ...audit, detail: { jti: claims.jti, idp: identity.idp } });
  deps.log.info({ reqId: ctx.state.requestId, tenant: tenant.id, jti: claims.jti }, 'token minted');
  sendPage(ctx, deps, 'wresult', { tenant, formAction: formActionFor(tx.appru), data: { appru: tx.appru, token } });
}
