/**
 * What both stores (sqlite.ts, redis.ts) judge the same way: the audit paging cursor, the
 * page size, domain normalization and the logo limits (docs/operations.md "Audit log").
 */
import { createHash, randomBytes } from 'node:crypto';
import { badRequest } from '../errors.js';
import type { AuditQuery, TenantLogo } from './types.js';

/** The largest audit page a store returns; a larger `limit` gets this many (and a nextCursor). */
export const MAX_AUDIT_PAGE = 1000;
/** The largest logo a store keeps (docs/operations.md). */
export const MAX_LOGO_BYTES = 512 * 1024;
const LOGO_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/svg+xml'];

/** A cursor names one event, `(at, id)`, and the filter it was made for. */
export interface AuditPosition {
  at: number;
  /** The event's id as a decimal integer (SQLite rowid, Redis {audit}:seq). */
  id: number;
}

/** Short digest of the filter, so a cursor cannot continue a different query. */
function filterTag(q: AuditQuery): string {
  const f = JSON.stringify([q.tenantId ?? null, q.type ?? null, q.since ?? null]);
  return createHash('sha256').update(f).digest('base64url').slice(0, 12);
}

export function encodeAuditCursor(q: AuditQuery, pos: AuditPosition): string {
  return Buffer.from(`1.${pos.at}.${pos.id}.${filterTag(q)}`, 'utf8').toString('base64url');
}

const invalidCursor = () => badRequest('invalid_request', 'the audit cursor is not one this query handed out');

/**
 * Reads a cursor handed out by encodeAuditCursor for the same filter. Anything else (garbage,
 * a cursor of another filter) throws the 400 invalid_request, without echoing the input.
 */
export function decodeAuditCursor(q: AuditQuery): AuditPosition | null {
  if (q.cursor === undefined) return null;
  if (typeof q.cursor !== 'string' || q.cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(q.cursor)) throw invalidCursor();
  const text = Buffer.from(q.cursor, 'base64url').toString('utf8');
  // Exactly what encodeAuditCursor makes (base64url decoding alone forgives stray characters).
  if (Buffer.from(text, 'utf8').toString('base64url') !== q.cursor) throw invalidCursor();
  const m = /^1\.(-?\d{1,16})\.(\d{1,16})\.([A-Za-z0-9_-]{12})$/.exec(text);
  if (!m || m[3] !== filterTag(q)) throw invalidCursor();
  const at = Number(m[1]);
  const id = Number(m[2]);
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(id)) throw invalidCursor();
  return { at, id };
}

/** Validates the query's plain fields; returns the page size to use. */
export function auditPageSize(q: AuditQuery): number {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw badRequest('invalid_request', 'the audit page size must be a positive integer');
  if (q.since !== undefined && !Number.isFinite(q.since)) throw badRequest('invalid_request', 'since must be a time in epoch milliseconds');
  return Math.min(q.limit, MAX_AUDIT_PAGE);
}

/** The listing limit of listInvitations: a whole number from 0 to MAX_AUDIT_PAGE. */
export function listLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.min(MAX_AUDIT_PAGE, Math.floor(limit))) : 0;
}

/** Lower case, no trailing dot, no duplicates (the form StoredTenant.domains promises). */
export function normalizeDomains(domains: string[]): string[] {
  return [...new Set(domains.map((d) => d.toLowerCase().replace(/\.$/, '')))];
}

/**
 * A tenant id and its domains are stored as UTF-8 (both stores): a lone surrogate would come
 * back as U+FFFD, another string than the one claimed. Such input is refused (400).
 */
export function checkTenantInput(t: { id: string; domains: string[] }): string[] {
  const ok = (v: unknown) => typeof v === 'string' && v.length > 0 && !/\p{Cs}/u.test(v);
  if (!ok(t.id) || !Array.isArray(t.domains) || !t.domains.every(ok)) {
    throw badRequest('invalid_request', 'a tenant id and its domains must be non-empty, well-formed text');
  }
  return normalizeDomains(t.domains);
}

/** Refuses what no store should keep; the admin API checks first and answers invalid_logo. */
export function checkLogo(logo: Omit<TenantLogo, 'etag'>): void {
  if (!LOGO_TYPES.includes(logo.contentType)) throw badRequest('invalid_logo', 'unsupported logo type');
  if (!(logo.bytes instanceof Uint8Array) || logo.bytes.length === 0 || logo.bytes.length > MAX_LOGO_BYTES) {
    throw badRequest('invalid_logo', 'the logo must be 1 byte to 512 KiB');
  }
}

/**
 * A tenant row's JSON as stored. A row that is not JSON (edited by hand, cut short) reads as
 * `fallback`, so the directory skips that one tenant with a reason (src/tenants/stored.ts)
 * instead of every read of the tenants failing (docs/admin-api.md "Tenants").
 */
export function parseStoredJson<T>(text: string | undefined, fallback: T): T {
  try {
    return text === undefined ? fallback : (JSON.parse(text) as T);
  } catch {
    return fallback;
  }
}

/** A fresh ETag for every upload. */
export const newEtag = () => randomBytes(12).toString('base64url');
