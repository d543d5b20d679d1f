/**
 * Per-minute limits from `limits` (docs/configuration.md); 0 turns a limit off.
 *
 * Password attempts are reserved before the password is checked: the store's atomic
 * counter hands out slots 1, 2, 3, ..., and an attempt whose slot is past the limit is
 * refused without reaching the hash, however many arrive at once. A wrong password keeps
 * its slot; a right one gives it back (successful sign-ins do not eat the budget).
 *
 * Smart lockout: the per-user budget is split by where the attempt comes from. Every
 * address from which this user has signed in successfully within `limits.familiarDays` (a
 * familiar address) has a budget of its own; all other addresses share one. Wrong guesses
 * from elsewhere therefore cannot lock the person out where they usually sign in.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { AppDeps } from '../http/deps.js';
import { tooManyRequests } from '../errors.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * The network a per-IP limit counts: an IPv4 address as is (IPv4-mapped IPv6 included), an
 * IPv6 address as its /64 prefix in canonical form (RFC 5952), since one subscriber usually
 * holds a whole /64. Every per-IP key goes through here, so spellings of one address
 * (`2001:DB8::1`, `2001:db8:0:0:0:0:0:1`, `::ffff:192.0.2.1`) and neighbours share a budget.
 */
export function clientNetwork(ip: string): string {
  const addr = hostPart(ip.trim());
  const v4 = dottedQuad(addr);
  if (v4) return v4;
  if (!isIPv6(addr)) return 'other'; // only with a misbehaving proxy: one shared budget, never one per spelling
  const g = groupsOf(canonicalIPv6(addr));
  const embedded = [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255].join('.');
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) name one IPv4 client.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || (g[5] === 0 && (g[6] !== 0 || g[7] > 1)))) return embedded;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded;
  return `${canonicalIPv6([...g.slice(0, 4), 0, 0, 0, 0].map((x) => x.toString(16)).join(':'))}/64`;
}

/**
 * The address inside what a proxy may write: `a.b.c.d:port`, `[v6]`, `[v6]:port`, a zone id
 * (`%eth0`, which names a local interface, not a client) or a prefix length (`/64`).
 */
function hostPart(raw: string): string {
  let a = raw;
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  return a.replace(/%[^/]*/, '').replace(/\/\d{1,3}$/, '');
}

/** a.b.c.d in decimal, each part 0–255, leading zeros read as decimal (never octal); else null. */
function dottedQuad(a: string): string | null {
  if (isIPv4(a)) return a;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return null;
  const parts = m.slice(1).map((x) => Number.parseInt(x, 10));
  return parts.every((x) => x <= 255) ? parts.join('.') : null;
}

/** RFC 5952 text (lower case, longest zero run as `::`), as the WHATWG URL parser writes hosts. */
function canonicalIPv6(addr: string): string {
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
}

/** The eight 16-bit groups of a canonical IPv6 address (no embedded dotted IPv4 left). */
function groupsOf(canonical: string): number[] {
  const [head, tail] = canonical.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((x) => parseInt(x, 16));
}

/** Seconds until the fixed window that `now` falls in ends (what Retry-After says). */
function untilWindowEnds(now: number, windowMs: number): number {
  return Math.ceil(((Math.floor(now / windowMs) + 1) * windowMs - now) / 1000);
}

/** Counts one sign-in start for this client network and refuses past the limit. */
export async function limitAuthStart(deps: AppDeps, ip: string): Promise<void> {
  const limit = deps.config.limits.authPerIp;
  if (limit === 0) return;
  const now = deps.clock.now();
  const n = await deps.store.hit(`auth:ip:${clientNetwork(ip)}`, MINUTE, now);
  if (n > limit) {
    deps.metrics.rateLimited.inc({ limit: 'auth_per_ip' });
    throw tooManyRequests('too_many_requests', 'too many sign-ins started from this address', untilWindowEnds(now, MINUTE));
  }
}

/** How the user's name is compared: as the local IdP looks users up. */
const userKey = (tenantId: string, username: string) =>
  `${encodeURIComponent(tenantId)}:${encodeURIComponent(username.trim().toLowerCase())}`;

export interface PasswordAttempt {
  /** Comes from an address where this user signed in before (its hash may go first). */
  readonly familiar: boolean;
  /** Whose attempt: the per-user budget's key and the client network (the hashing queue caps each in its priority lane). */
  readonly who: { user: string; network: string };
  /** The password was right: give the slots back and remember this address as familiar. */
  succeeded(): Promise<void>;
  /**
   * The password was never checked (the hashing queue was full, the IdP unreachable): the
   * per-user slot is given back, so a busy service locks nobody out; the per-IP slot stays
   * spent, so refused attempts are not free for whoever keeps the queue full.
   */
  notEvaluated(): Promise<void>;
}

/**
 * Reserves one password attempt for this user (in this tenant) from this address, or
 * throws 429 `too_many_attempts` with the seconds until the window ends. The per-IP slot is
 * taken first, so a client over its own limit spends nothing of anyone's per-user budget.
 */
export async function reservePasswordAttempt(deps: AppDeps, tenantId: string, username: string, ip: string): Promise<PasswordAttempt> {
  const { passwordPerUser, passwordPerIp, familiarDays } = deps.config.limits;
  const now = deps.clock.now();
  const net = clientNetwork(ip);
  const subject = userKey(tenantId, username);
  const taken: string[] = [];
  const give = (keys: string[]) => Promise.all(keys.map((k) => deps.store.release(k, MINUTE, now))).then(() => undefined);
  const refuse = (what: string, limit: 'password_per_ip' | 'password_per_user') => {
    deps.metrics.rateLimited.inc({ limit });
    return tooManyRequests('too_many_attempts', `too many failed attempts ${what}`, untilWindowEnds(now, MINUTE));
  };

  if (passwordPerIp) {
    const key = `pw:ip:${net}`;
    taken.push(key);
    if ((await deps.store.hit(key, MINUTE, now)) > passwordPerIp) throw refuse('from this address', 'password_per_ip');
  }
  const familiar = familiarDays > 0 && (await deps.store.isFamiliarAddress(subject, net, now));
  if (passwordPerUser) {
    const key = familiar ? `pw:user:${subject}:at:${net}` : `pw:user:${subject}`;
    taken.push(key);
    if ((await deps.store.hit(key, MINUTE, now)) > passwordPerUser) throw refuse('for this user', 'password_per_user');
  }
  return {
    familiar,
    who: { user: subject, network: net },
    async succeeded() {
      await give(taken);
      if (familiarDays > 0) await deps.store.rememberAddress(subject, net, now + familiarDays * DAY, now);
    },
    notEvaluated: () => give(taken.filter((k) => k.startsWith('pw:user:'))),
  };
}
