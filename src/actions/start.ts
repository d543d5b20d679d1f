/**
 * GET /auth (the AuthenticationServiceUrl) and GET /t/:tenant/auth: validate appru first,
 * find the tenant (fixed, from an invitation, or from login_hint's domain), record the
 * transaction, then hand over to the upstream (redirect) or show a page (email, password).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { pinSnapshot, tenantById, tenantForEmail, upnAllowedIn } from '../http/deps.js';
import type { TenantConfig } from '../config/schema.js';
import type { Transaction } from '../store/types.js';
import { badRequest, notFound, forbidden } from '../errors.js';
import { checkAppru } from './appru.js';
import { literalQueryParam, oneString } from './params.js';
import { limitAuthStart } from './ratelimit.js';
import { checkInvitation } from '../invitations/index.js';
import { CLIENT_PARAMS, MAX_CLAIM_LENGTH } from '../tokens/claims.js';
import { sendPage, localeOf } from '../http/respond.js';

/** Budget for what the window puts in the token (four values of 256 ASCII characters fit). */
const MAX_WINDOW_CLAIMS_BYTES = 1200;

/** A sign-in must finish within this time. */
export const TRANSACTION_TTL_MS = 15 * 60_000;

export async function startSignIn(ctx: Context, deps: AppDeps, fixedTenantId?: string): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  const q = ctx.query as Record<string, unknown>;
  const fixed = fixedTenantId ? tenantById(deps.config, fixedTenantId) : null;
  if (fixedTenantId && !fixed) throw notFound('unknown_tenant', 'no such tenant');
  ctx.state.tenantId = fixed?.id;

  const { appru } = checkAppru(q.appru, deps.config);
  await limitAuthStart(deps, ctx.ip);

  const loginHint = literalQueryParam(ctx.querystring, 'login_hint', MAX_CLAIM_LENGTH)?.trim() || null;
  const client: Record<string, string> = {};
  for (const name of CLIENT_PARAMS) {
    const v = oneString(q, name, MAX_CLAIM_LENGTH);
    if (v !== null) client[name] = v;
  }
  // The token copies these verbatim and must stay within 4 KiB: bound their encoded size
  // together (JSON escapes a control character to 6 bytes from 3 in the query string).
  if (Buffer.byteLength(JSON.stringify({ login_hint: loginHint, client })) > MAX_WINDOW_CLAIMS_BYTES) {
    throw badRequest('invalid_request', 'login_hint and client parameters are too long together');
  }
  const now = deps.clock.now();

  const accesstoken = oneString(q, 'accesstoken', 512);
  const invitation = accesstoken ? await checkInvitation(deps.store, accesstoken, loginHint, now) : null;
  if (invitation && fixed && invitation.tenantId !== fixed.id) {
    throw forbidden('invitation_other_tenant', 'invitation belongs to another organization');
  }

  const tenant =
    fixed ?? (invitation ? tenantById(deps.config, invitation.tenantId) : null) ?? (loginHint ? tenantForEmail(deps.config, loginHint) : null);
  if (tenant?.policy.requireInvitation && !invitation) throw forbidden('invitation_required', 'this organization enrolls by invitation only');
  if (tenant && loginHint) refuseHopelessHint(tenant, loginHint);

  const tx: Transaction = {
    state: randomBytes(24).toString('base64url'),
    tenantId: tenant?.id ?? null,
    appru,
    loginHint,
    client,
    invitationId: invitation?.id ?? null,
    upstream: {},
    ip: ctx.ip,
    locale: localeOf(ctx, deps, tenant),
    createdAt: now,
    expiresAt: now + TRANSACTION_TTL_MS,
  };
  ctx.state.tenantId = tx.tenantId ?? undefined;
  deps.audit.push({ at: now, type: 'signin.start', tenantId: tx.tenantId, ip: ctx.ip, requestId: ctx.state.requestId, detail: { hasHint: !!loginHint, invitation: tx.invitationId } });

  if (!tenant) {
    await deps.store.putTransaction(tx);
    sendPage(ctx, deps, 'email', { data: { state: tx.state, email: loginHint ?? '', unknownOrg: !!loginHint } });
    return;
  }
  await beginUpstream(ctx, deps, tx, tenant, false);
}

/**
 * A tenant fixed by the URL (or an invitation) with a `login_hint` outside its domains: when
 * the tenant requires the signed-in user to equal the hint, no sign-in could pass the
 * tenant binding at the end (docs/configuration.md), so the person is told now, before typing a
 * password at the IdP. Without requireHintMatch the hint binds nothing and the policy in
 * finish.ts judges the user who actually signs in.
 */
export function refuseHopelessHint(tenant: TenantConfig, loginHint: string): void {
  if (tenant.policy.requireHintMatch && !upnAllowedIn(tenant, loginHint)) {
    throw forbidden('upn_not_in_tenant', 'login_hint is outside the tenant\'s domains', { org: tenant.displayName });
  }
}

/**
 * Hands the transaction to the tenant's upstream. After a form POST the redirect goes
 * through a page (meta refresh): browsers apply the page's CSP form-action to redirects
 * that follow a form submission, and the IdP's origin is not in it.
 */
export async function beginUpstream(ctx: Context, deps: AppDeps, tx: Transaction, tenant: TenantConfig, afterForm: boolean): Promise<void> {
  const upstream = deps.upstreams.get(tenant.id);
  if (!upstream) throw notFound('unknown_tenant', `no upstream for tenant ${tenant.id}`);
  const begun = await upstream.begin(tx);
  if (begun.kind === 'password') {
    // The page says what a user name looks like for this kind (an email, or also DOMAIN\user).
    tx.upstream = { ...tx.upstream, prompt: begun.prompt };
    await deps.store.putTransaction(tx);
    sendPage(ctx, deps, 'password', {
      tenant,
      data: {
        state: tx.state,
        // The address typed on the email step ("use another account") before the window's hint.
        username: tx.enteredEmail ?? tx.loginHint ?? '',
        prompt: begun.prompt,
        error: null,
        // Another account could not finish when the tenant holds the sign-in to the window's hint.
        switchable: !(tx.loginHint && tenant.policy.requireHintMatch),
      },
    });
    return;
  }
  tx.upstream = { ...tx.upstream, ...begun.keep };
  await deps.store.putTransaction(tx);
  if (begun.kind === 'post') {
    // An auto-submitting form to the IdP: its origin, and only it, is this page's form-action.
    const fields = Object.entries(begun.fields).map(([name, value]) => ({ name, value }));
    sendPage(ctx, deps, 'post', { tenant, formAction: new URL(begun.url).origin, data: { url: begun.url, fields } });
    return;
  }
  if (afterForm) {
    sendPage(ctx, deps, 'redirect', { tenant, data: { url: begun.url } });
    return;
  }
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(begun.url);
}
