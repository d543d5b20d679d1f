/** Per-minute limits from `limits` (contract §2); 0 turns a limit off. */
import type { AppDeps } from '../http/deps.js';
import { tooManyRequests } from '../errors.js';

const MINUTE = 60_000;

/** Counts one sign-in start for this IP and refuses past the limit. */
export async function limitAuthStart(deps: AppDeps, ip: string): Promise<void> {
  const limit = deps.config.limits.authPerIp;
  if (limit === 0) return;
  const n = await deps.store.hit(`auth:ip:${ip}`, MINUTE, deps.clock.now());
  if (n > limit) throw tooManyRequests('too_many_requests', 'too many sign-ins started from this address');
}

/** Refuses a password attempt when this user or IP already failed too often this minute. */
export async function checkPasswordLimits(deps: AppDeps, upn: string, ip: string): Promise<void> {
  const { passwordPerUser, passwordPerIp } = deps.config.limits;
  const now = deps.clock.now();
  if (passwordPerUser && (await deps.store.count(`pwfail:user:${upn.toLowerCase()}`, MINUTE, now)) >= passwordPerUser) {
    throw tooManyRequests('too_many_attempts', 'too many failed attempts for this user');
  }
  if (passwordPerIp && (await deps.store.count(`pwfail:ip:${ip}`, MINUTE, now)) >= passwordPerIp) {
    throw tooManyRequests('too_many_attempts', 'too many failed attempts from this address');
  }
}

export async function countPasswordFailure(deps: AppDeps, upn: string, ip: string): Promise<void> {
  const now = deps.clock.now();
  await Promise.all([
    deps.store.hit(`pwfail:user:${upn.toLowerCase()}`, MINUTE, now),
    deps.store.hit(`pwfail:ip:${ip}`, MINUTE, now),
  ]);
}
