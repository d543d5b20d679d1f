/**
 * Console sessions and CSRF (docs/console.md "Sessions" and "Forms").
 *
 * A session is a cookie, not a store row: `<id>.<issuedAt>.<expiresAt>.<mac>`, the MAC an
 * HMAC-SHA256 under a key derived (HKDF) from `admin.token`. Changing the token therefore ends
 * every session at once. Idle expiry is 30 minutes (every answer to a signed-in request moves
 * it), with a 12-hour cap from sign-in. Signing out writes the session id into the store as a
 * marker that lives as long as the session could, so a copied cookie dies with the sign-out on
 * every instance sharing the store.
 *
 * Every state-changing form carries a CSRF token, an HMAC of the session id under the same
 * key: bound to that session, useless in any other. A post must also not be cross-site: a
 * `Sec-Fetch-Site` other than `same-origin`, or an `Origin` other than publicUrl's, is refused.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Store } from '../store/types.js';

export const COOKIE_NAME = 'fb_console';
export const IDLE_MS = 30 * 60_000;
export const MAX_SESSION_MS = 12 * 3600_000;
/** A cookie issued later than this ahead of our clock (another instance's clock) is still accepted. */
const FUTURE_SKEW_MS = 60_000;

/**
 * The store "familiar address" record doubles as the signed-out marker: subject below, the
 * session id as the address, kept until the session's cap. The subject has no ':' so it can never
 * be a user key of the password limits (src/actions/ratelimit.ts), and a session id is no address.
 */
const SIGNED_OUT = '!console-signed-out';

export interface Session {
  id: string;
  issuedAt: number;
  expiresAt: number;
}

/** The console key of an admin token: one key for session MACs and CSRF tokens. */
export function consoleKey(adminToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(adminToken, 'utf8'), Buffer.alloc(0), 'fedbridge console session v1', 32));
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newSession(now: number): Session {
  return { id: randomBytes(16).toString('base64url'), issuedAt: now, expiresAt: now + IDLE_MS };
}

/** The session moved on by one request: idle expiry from now, never past the cap. */
export function touched(s: Session, now: number): Session {
  return { ...s, expiresAt: Math.min(now + IDLE_MS, s.issuedAt + MAX_SESSION_MS) };
}

export function encodeSession(key: Buffer, s: Session): string {
  const body = `${s.id}.${s.issuedAt.toString(36)}.${s.expiresAt.toString(36)}`;
  return `${body}.${mac(key, `session|${body}`)}`;
}

const COOKIE_SHAPE = /^([A-Za-z0-9_-]{22})\.([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

/** The session a cookie value names, if its MAC is right and it has not expired; else null. */
export function decodeSession(key: Buffer, value: string | undefined, now: number): Session | null {
  const m = value ? COOKIE_SHAPE.exec(value) : null;
  if (!m) return null;
  const body = `${m[1]}.${m[2]}.${m[3]}`;
  if (!sameText(m[4], mac(key, `session|${body}`))) return null;
  const s: Session = { id: m[1], issuedAt: parseInt(m[2], 36), expiresAt: parseInt(m[3], 36) };
  if (now >= s.expiresAt || now >= s.issuedAt + MAX_SESSION_MS || s.issuedAt > now + FUTURE_SKEW_MS) return null;
  return s;
}

export async function isSignedOut(store: Store, s: Session, now: number): Promise<boolean> {
  return store.isFamiliarAddress(SIGNED_OUT, s.id, now);
}

export async function markSignedOut(store: Store, s: Session, now: number): Promise<void> {
  await store.rememberAddress(SIGNED_OUT, s.id, s.issuedAt + MAX_SESSION_MS, now);
}

/** `Set-Cookie` for a session (or, with null, one that deletes it). Written by hand: Koa refuses `Secure` on plain HTTP behind a proxy. */
export function sessionCookie(value: string | null, secure: boolean, now: number, expiresAt = 0): string {
  const maxAge = value ? Math.max(0, Math.floor((expiresAt - now) / 1000)) : 0;
  return [`${COOKIE_NAME}=${value ?? ''}`, 'Path=/admin', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

export function csrfToken(key: Buffer, s: Session): string {
  return mac(key, `csrf|${s.id}`);
}

export function csrfValid(key: Buffer, s: Session, given: unknown): boolean {
  return typeof given === 'string' && given.length <= 128 && sameText(given, csrfToken(key, s));
}

/**
 * Is this post from a page of this service? Browsers say where a request comes from in
 * `Sec-Fetch-Site` and `Origin`; either one naming another site refuses it. (A client that
 * sends neither, like curl, is judged by the CSRF token alone.)
 */
export function fromOwnOrigin(ctx: Context, publicOrigin: string): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin') return false;
  const origin = ctx.get('origin');
  if (origin && origin !== publicOrigin) return false;
  return true;
}
