/** POST /auth/email: the person typed a work email; find the organization (home realm). */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { tenantForEmail } from '../http/deps.js';
import { sendPage } from '../http/respond.js';
import { oneString } from './params.js';
import { loadTransaction } from './transaction.js';
import { beginUpstream } from './start.js';
import { forbidden } from '../errors.js';

const EMAIL = /^[^\s@]{1,128}@[A-Za-z0-9.-]{1,127}\.[A-Za-z]{2,}$/;

export async function submitEmail(ctx: Context, deps: AppDeps): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const tx = await loadTransaction(ctx, deps, body.state, false);
  const email = (oneString(body, 'email', 256) ?? '').trim();
  const tenant = EMAIL.test(email) ? tenantForEmail(deps.config, email) : null;
  if (!tenant) {
    sendPage(ctx, deps, 'email', {
      status: 400,
      data: { state: tx.state, email, unknownOrg: EMAIL.test(email), invalidEmail: !EMAIL.test(email) },
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
