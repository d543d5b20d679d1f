/** POST /auth/password: the password page of `local` (and later `wstrust`) upstreams. */
import type { Context } from 'koa';
import type { AppDeps } from '../http/deps.js';
import { sendPage } from '../http/respond.js';
import { badRequest } from '../errors.js';
import { oneString } from './params.js';
import { loadTransaction, withTenant } from './transaction.js';
import { checkPasswordLimits, countPasswordFailure } from './ratelimit.js';
import { finishSignIn } from './finish.js';

export async function submitPassword(ctx: Context, deps: AppDeps): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const { tx, tenant, upstream } = withTenant(deps, await loadTransaction(ctx, deps, body.state, false));
  if (!upstream.password) throw badRequest('invalid_request', 'this organization does not sign in with a password here');

  const username = (oneString(body, 'username', 256) ?? '').trim();
  const password = oneString(body, 'password', 1024) ?? '';
  const again = (errorKey: string, status: number) =>
    sendPage(ctx, deps, 'password', { tenant, status, data: { state: tx.state, username, error: errorKey } });

  if (!username || !password) return again('password.missing', 400);
  await checkPasswordLimits(deps, username, ctx.ip);

  const identity = await upstream.password(username, password);
  if (!identity) {
    await countPasswordFailure(deps, username, ctx.ip);
    deps.audit.push({ at: deps.clock.now(), type: 'signin.password_failed', tenantId: tenant.id, subject: username, ip: ctx.ip, requestId: ctx.state.requestId });
    return again('password.wrong', 401);
  }
  // Consume only now: a wrong password keeps the transaction for another try.
  const taken = await loadTransaction(ctx, deps, tx.state, true);
  await finishSignIn(ctx, deps, taken, tenant, identity);
}
