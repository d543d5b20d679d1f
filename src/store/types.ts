/**
 * The one storage interface. SQLite (embedded default) and Redis implement it;
 * test/store/conformance.ts runs the same suite against both.
 * All times are epoch milliseconds supplied by the caller (the clock is injected).
 */

/** A sign-in in progress, keyed by its unguessable `state`. */
export interface Transaction {
  state: string;
  /** null until home-realm discovery has found the tenant. */
  tenantId: string | null;
  appru: string;
  loginHint: string | null;
  /** The work email the person typed on the email page (when the window gave no usable hint). */
  enteredEmail?: string;
  /** The tenant was found from `enteredEmail` (not fixed by URL, invitation or hint): "use another account" may look again. */
  tenantFromEmail?: boolean;
  /** Client parameters the window sent (deviceidentifier, tenantidentifier, ownership). */
  client: Record<string, string>;
  /** The invitation id (never the accesstoken itself) once checked. */
  invitationId: string | null;
  /** Kind-specific upstream data: nonce, PKCE verifier, SAML request id, ... */
  upstream: Record<string, string>;
  /** Client IP that started it (for rate limits and audit). */
  ip: string;
  /** UI locale picked when the window opened. */
  locale: string;
  createdAt: number;
  expiresAt: number;
}

export type ConsumeResult =
  /** First consumption: the token is now bound to deviceId. */
  | 'consumed'
  /** Same deviceId consumed it before: idempotent retry. */
  | 'retry'
  /** Consumed before by another (or no) device. */
  | 'replayed';

export interface Invitation {
  id: string;
  tenantId: string;
  upn: string;
  ownership: number | null;
  createdAt: number;
  expiresAt: number;
  /** Set when a sign-in that used it finished. */
  usedAt: number | null;
}

export interface AuditEvent {
  at: number;
  type: string;
  tenantId?: string | null;
  subject?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** Small structured details; never secrets or tokens (a jti only). */
  detail?: Record<string, unknown>;
}

/** A tenant created through the admin API (docs/admin-api.md); config-file tenants never live here. */
export interface StoredTenant {
  id: string;
  /** The tenant as written through the API (config-file tenant shape, secrets included: never returned by the API). */
  doc: Record<string, unknown>;
  /** Its domains, normalized (lower case, no trailing dot): each is claimed by exactly one stored tenant. */
  domains: string[];
  /** 1 on create, +1 on every replace. */
  version: number;
  updatedAt: number;
}

export type TenantCreateResult = 'ok' | 'id_taken' | 'domain_taken';
/** `version_mismatch`: an `ifVersion` was given and the stored version is another (docs/admin-api.md, If-Match). */
export type TenantUpdateResult = 'ok' | 'not_found' | 'domain_taken' | 'version_mismatch';

export interface TenantLogo {
  contentType: 'image/png' | 'image/jpeg' | 'image/svg+xml';
  bytes: Buffer;
  /** Changes with every upload (for ETag and cache busting). */
  etag: string;
}

/** An audit event as read back: `id` orders events totally (two events of one millisecond differ). */
export interface StoredAuditEvent extends AuditEvent {
  id: string;
}

export interface AuditQuery {
  limit: number;
  /** From a previous page's nextCursor: continue strictly after (older than) that event. */
  cursor?: string;
  tenantId?: string;
  type?: string;
  /** Only events at or after this time (epoch ms). */
  since?: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'redis';

  putTransaction(tx: Transaction): Promise<void>;
  /** Reads without consuming; null when unknown or expired. */
  getTransaction(state: string, now: number): Promise<Transaction | null>;
  /** Atomically reads and deletes: exactly one caller ever gets a given transaction. */
  takeTransaction(state: string, now: number): Promise<Transaction | null>;

  /**
   * Is this token (by jti) consumed? Returns the bound deviceId ('' for none) or null if not consumed.
   * With `issuedAt` (the token's iat in epoch ms): a token issued before the store's epoch
   * (src/store/epoch.ts: the store may have forgotten its consumption) answers '' (consumed, no device).
   */
  consumedBy(jti: string, now: number, issuedAt?: number): Promise<string | null>;
  /**
   * Atomically consumes a token, binding it to deviceId ('' for none), kept until expiresAt.
   * With `issuedAt` (the token's iat in epoch ms): a token issued before the store's epoch answers
   * 'replayed' (fail closed when the store lost its state). Without it, no epoch check is made.
   */
  consumeToken(jti: string, deviceId: string, expiresAt: number, now: number, issuedAt?: number): Promise<ConsumeResult>;

  putInvitation(inv: Invitation): Promise<void>;
  getInvitation(id: string, now: number): Promise<Invitation | null>;
  /** Atomically marks an unused invitation used; false if it was used or is unknown. */
  useInvitation(id: string, now: number): Promise<boolean>;

  /** Adds one to a fixed-window counter and returns the new count. */
  hit(key: string, windowMs: number, now: number): Promise<number>;
  /** Current count of a fixed-window counter without adding. */
  count(key: string, windowMs: number, now: number): Promise<number>;
  /**
   * Gives back one hit of the window `now` falls in (never below zero): a reserved attempt
   * that turned out not to count (a right password). Pass the `now` the hit was taken with.
   */
  release(key: string, windowMs: number, now: number): Promise<void>;

  /**
   * Remembers that `subject` signed in successfully from `address` (a normalized network,
   * see src/actions/ratelimit.ts) until `expiresAt`; remembering again extends, never shortens.
   */
  rememberAddress(subject: string, address: string, expiresAt: number, now: number): Promise<void>;
  /** Has `subject` signed in from `address` (and is that memory still live at `now`)? */
  isFamiliarAddress(subject: string, address: string, now: number): Promise<boolean>;

  appendAudit(events: AuditEvent[]): Promise<void>;
  listAudit(opts: { limit: number; before?: number; tenantId?: string }): Promise<AuditEvent[]>;
  /**
   * Newest first; `nextCursor` is null on the last page. Paging never skips or repeats an event.
   * `limit` above 1000 gets 1000. A cursor is valid only for the filter (tenantId, type, since)
   * that made it; a garbage or foreign cursor, a limit that is not a positive integer, or a
   * non-finite `since` rejects with FedbridgeError 400 `invalid_request` (src/errors.ts), which
   * the API layer answers as is. Rare on Redis: a type filter matching very few events may give
   * a short page with a nextCursor.
   */
  queryAudit(q: AuditQuery): Promise<{ events: StoredAuditEvent[]; nextCursor: string | null }>;
  /** Deletes audit events older than `before` (audit.retentionDays); returns how many went. */
  purgeAudit(before: number): Promise<number>;

  /** Live invitations (not expired; used ones included), newest first (createdAt), optionally of one tenant; limit at most 1000. */
  listInvitations(opts: { tenantId?: string; now: number; limit: number }): Promise<Invitation[]>;
  /** Deletes an invitation so it can no longer be used; false when unknown or expired. */
  revokeInvitation(id: string, now: number): Promise<boolean>;

  /** Atomically: the id is free and none of `domains` is claimed by another stored tenant. */
  createTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number): Promise<TenantCreateResult>;
  /**
   * Atomically replaces a stored tenant, re-claiming its domains (those it drops are freed).
   * With `ifVersion`, only while the stored version is that one (checked in the same atomic step).
   */
  updateTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number, ifVersion?: number): Promise<TenantUpdateResult>;
  /**
   * Deletes a stored tenant, its domains and its logo; false when unknown. With `ifVersion`, only
   * while the stored version is that one, else `version_mismatch` (checked in the same atomic step).
   */
  deleteTenant(id: string, ifVersion?: number): Promise<boolean | 'version_mismatch'>;
  listTenants(): Promise<StoredTenant[]>;
  /** Bumped (atomically) by every tenant or logo change; instances poll it to pick up changes. */
  tenantsRevision(): Promise<number>;
  /**
   * Stores a tenant's logo (any tenant id: config-file tenants have logos too); bumps the revision.
   * Refuses (FedbridgeError 400 `invalid_logo`) another content type, no bytes, or over 512 KiB.
   */
  putLogo(tenantId: string, logo: Omit<TenantLogo, 'etag'>): Promise<TenantLogo>;
  getLogo(tenantId: string): Promise<TenantLogo | null>;

  /** Deletes expired transactions, markers, counters, invitations and familiar addresses. */
  purgeExpired(now: number): Promise<void>;
  /** Cheap round trip for /readyz; rejects at once while the store is unreachable. */
  ping(): Promise<void>;
  /** What makes this store forget on a restart (persistence off, in-memory); logged at start-up. */
  durabilityWarnings(): Promise<string[]>;
  close(): Promise<void>;
}
