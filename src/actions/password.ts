/** POST /auth/password: the password page of `local` (and later `wstrust`) upstreams. */
import type { Context } from 'koa';
import { pinSnapshot, type AppDeps } from '../http/deps.js';
import { sendPage } from '../http/respond.js';
import { badRequest, isFedbridgeError } from '../errors.js';
import { oneString } from './params.js';
import { loadTransaction, withTenant } from './transaction.js';
import { reservePasswordAttempt } from './ratelimit.js';
import { finishSignIn } from './finish.js';
import { withHashPriority } from '../upstreams/local/hashqueue.js';

export async function submitPassword(ctx: Context, deps: AppDeps): Promise<void> {
  deps = pinSnapshot(deps); // one tenant snapshot for the whole request
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const { tx, tenant, upstream } = withTenant(deps, await loadTransaction(ctx, deps, body.state, false));
  if (!upstream.password) throw badRequest('invalid_request', 'this organization does not sign in with a password here');

  const username = (oneString(body, 'username', 256) ?? '').trim();
  const password = oneString(body, 'password', 1024) ?? '';
  const again = (errorKey: string, status: number) =>
    sendPage(ctx, deps, 'password', {
      tenant,
      status,
      // switchable: "use another account" as on the first password page (src/actions/start.ts).
      data: { state: tx.state, username, prompt: tx.upstream.prompt ?? 'email', error: errorKey, switchable: !(tx.loginHint && tenant.policy.requireHintMatch) },
    });

  if (!username || !password) return again('password.missing', 400);
  // Reserved before the hash: concurrent guesses cannot all slip under the limit.
  // One budget per account, however its name is spelt (src/upstreams/wstrust/account.ts).
  const attempt = await reservePasswordAttempt(deps, tenant.id, upstream.accountKey?.(username) ?? username, ctx.ip);

  let identity;
  try {
    const check = () => upstream.password!({ username, password }, tx);
    // A returning user's address skips the queue of guesses from elsewhere (smart lockout's twin).
    identity = await (attempt.familiar ? withHashPriority(check, attempt.who) : check());
  } catch (err) {
    // No guess was spent when the password was never checked: the hashing queue was full, or the
    // IdP could not be reached (an outage must not use up people's password budgets).
    if (isFedbridgeError(err) && (err.code === 'server_busy' || err.code === 'upstream_unreachable')) await attempt.notEvaluated();
    deps.metrics.passwordFailures.inc({ tenant: tenant.id, reason: isFedbridgeError(err) ? err.code : 'server_error' });
    throw err;
  }
  if (!identity) {
    deps.metrics.passwordFailures.inc({ tenant: tenant.id, reason: 'wrong_password' });
    deps.audit.push({ at: deps.clock.now(), type: 'signin.password_failed', tenantId: tenant.id, subject: username, ip: ctx.ip, requestId: ctx.state.requestId });
    return again('password.wrong', 401);
  }
  // Smart lockout: this address now has its own budget for this user (src/actions/ratelimit.ts).
  await attempt.succeeded();
  // Consume only now: a wrong password keeps the transaction for another try.
  const taken = await loadTransaction(ctx, deps, tx.state, true);
  await finishSignIn(ctx, deps, taken, tenant, identity);
}
