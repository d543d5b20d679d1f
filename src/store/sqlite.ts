import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AuditEvent, AuditQuery, ConsumeResult, Invitation, StoredAuditEvent, StoredTenant, Store, TenantCreateResult,
  TenantLogo, TenantUpdateResult, Transaction,
} from './types.js';
import {
  auditPageSize, checkLogo, decodeAuditCursor, encodeAuditCursor, listLimit, newEtag, checkTenantInput, parseStoredJson,
} from './shared.js';
import { genesisNotBefore, lossNotBefore, newEpochId } from './epoch.js';
import { storeUnavailable } from './unavailable.js';

// A row is live while expires_at > now; every read checks this so expiry does
// not depend on purgeExpired having run.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS transactions (
  state TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_exp ON transactions (expires_at);
CREATE TABLE IF NOT EXISTS consumed (
  jti TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS consumed_exp ON consumed (expires_at);
CREATE TABLE IF NOT EXISTS invitations (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, upn TEXT NOT NULL, ownership INTEGER,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);
CREATE INDEX IF NOT EXISTS invitations_exp ON invitations (expires_at);
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS counters_exp ON counters (expires_at);
CREATE TABLE IF NOT EXISTS familiar (
  subject TEXT NOT NULL, address TEXT NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (subject, address));
CREATE INDEX IF NOT EXISTS familiar_exp ON familiar (expires_at);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, type TEXT NOT NULL,
  tenant_id TEXT, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at, id);
CREATE INDEX IF NOT EXISTS audit_tenant_at ON audit (tenant_id, at, id);
CREATE INDEX IF NOT EXISTS invitations_tenant ON invitations (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS audit_type_at ON audit (type, at, id);
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, doc TEXT NOT NULL, domains TEXT NOT NULL, version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tenant_domains (
  domain TEXT PRIMARY KEY, tenant_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tenant_domains_tenant ON tenant_domains (tenant_id);
CREATE TABLE IF NOT EXISTS logos (
  tenant_id TEXT PRIMARY KEY, content_type TEXT NOT NULL, bytes BLOB NOT NULL, etag TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants_revision (
  one INTEGER PRIMARY KEY CHECK (one = 1), rev INTEGER NOT NULL);
INSERT OR IGNORE INTO tenants_revision (one, rev) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS epoch (
  one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL, not_before INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
`;

export interface SqliteStoreOptions {
  /** The caller's clock at open: a new epoch starts in this second (src/store/epoch.ts). */
  now?: number;
  /** Called when the database file is found replaced or gone (for the log). */
  onStateLost?: (detail: string) => void;
}

/** SQLite result codes that mean "cannot serve right now" (locked, disk or file trouble): 503. */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL|NOTADB|CORRUPT)/;
const isSqliteUnavailable = (err: unknown) =>
  err instanceof Error && (UNAVAILABLE.test((err as { code?: string }).code ?? '') || /database connection is not open/.test(err.message));

interface InvitationRow {
  id: string;
  tenant_id: string;
  upn: string;
  ownership: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

function invitationOf(r: InvitationRow): Invitation {
  return {
    id: r.id, tenantId: r.tenant_id, upn: r.upn, ownership: r.ownership,
    createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at,
  };
}

/** A file id no file has: the next replay decision looks at the file again (ensureSameFile). */
const UNSETTLED = '(unsettled)';

/** How often a read-only replay check looks whether the file was replaced (consumedBy). */
const FILE_CHECK_INTERVAL_MS = 1000;

// Stands in for "no upper bound" so one prepared statement serves both cases.
const NO_BEFORE = Number.MAX_SAFE_INTEGER;

/** A replay read waiting for the end of the event-loop turn (SqliteStore.consumedBy). */
interface PendingRead {
  jti: string;
  now: number;
  issuedAt: number | undefined;
  resolve: (deviceId: string | null) => void;
  reject: (err: unknown) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private db: Database.Database;
  private s!: ReturnType<SqliteStore['prepare']>;
  private consumeTx!: ReturnType<SqliteStore['prepare']>['consumeTx'];
  private appendTx!: ReturnType<SqliteStore['prepare']>['appendTx'];
  private purgeTx!: ReturnType<SqliteStore['prepare']>['purgeTx'];
  private tenantTx!: ReturnType<SqliteStore['prepare']>['tenantTx'];
  /** The epoch this instance works in, and the file it was read from (device and inode). */
  private epoch!: { id: string; notBefore: number };
  private fileId: string | null = null;
  /** performance.now() of the last file check by a read-only decision (consumedBy). */
  private fileCheckedAt = -Infinity;

  private constructor(
    db: Database.Database,
    private readonly path: string,
    private readonly onStateLost: (detail: string) => void,
    now: number,
  ) {
    this.db = db;
    this.attach(db, genesisNotBefore(now), now);
  }

  /** Prepares the statements on `db` and reads (or creates) its epoch. */
  private attach(db: Database.Database, notBefore: number, now: number): void {
    const p2 = this.prepare(db);
    this.s = p2;
    this.consumeTx = p2.consumeTx;
    this.appendTx = p2.appendTx;
    this.purgeTx = p2.purgeTx;
    this.tenantTx = p2.tenantTx;
    db.prepare('INSERT OR IGNORE INTO epoch (one, id, not_before, created_at) VALUES (1, ?, ?, ?)').run(newEpochId(), notBefore, now);
    const row = db.prepare<[], { id: string; not_before: number }>('SELECT id, not_before FROM epoch').get()!;
    this.epoch = { id: row.id, notBefore: row.not_before };
    this.fileId = this.currentFileId();
  }

  /** dev:inode of the file at `path` now; null for an in-memory database or a missing file. */
  private currentFileId(): string | null {
    if (this.path === ':memory:' || this.path === '') return null;
    try {
      const st = statSync(this.path);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  }

  /**
   * Before a replay decision: is the file at `path` still the one we have open? If it was
   * deleted or replaced (restored, recreated by another process), markers written since by
   * others are not in ours: reopen the file at `path` and treat it as a store that lost its state.
   */
  private ensureSameFile(now: number): void {
    if (this.fileId === null) return;
    this.fileCheckedAt = performance.now();
    const current = this.currentFileId();
    if (current === this.fileId) return;
    const settled = this.epoch;
    const known = settled.id;
    const old = this.db;
    const db = SqliteStore.openDb(this.path);
    this.db = db;
    old.close();
    try {
      this.attach(db, lossNotBefore(now), now);
      if (this.epoch.id !== known) {
        // Created by another process (or by us just now): raise its notBefore to the loss.
        const nb = Math.max(this.epoch.notBefore, lossNotBefore(now));
        db.prepare('UPDATE epoch SET not_before = max(not_before, ?)').run(nb);
        this.epoch.notBefore = nb;
      }
    } catch (err) {
      // Not settled on the new file (e.g. the raise met a lock): this decision fails, and the
      // next one, read or consume, looks at the file again and retries, so no decision is ever
      // made on a replacement whose notBefore was not raised.
      this.fileId = UNSETTLED;
      this.fileCheckedAt = -Infinity;
      this.epoch = settled;
      throw err;
    }
    this.onStateLost(`the SQLite file ${this.path} was replaced or deleted: tokens issued before now are refused at Enroll`);
  }

  private prepare(db: Database.Database) {
    const p = <P extends unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    const st = {
      putTx: p<[string, string, number]>(
        'INSERT OR REPLACE INTO transactions (state, data, expires_at) VALUES (?, ?, ?)'),
      getTx: p<[string, number], { data: string }>(
        'SELECT data FROM transactions WHERE state = ? AND expires_at > ?'),
      takeTx: p<[string], { data: string; expires_at: number }>(
        'DELETE FROM transactions WHERE state = ? RETURNING data, expires_at'),
      // One statement on the hot path (a GetPolicies check): the marker and the epoch together.
      // Rows as arrays ([device_id, nb]): the replay read is on /introspect's hot path (consumedBy).
      consumedBy: p<[string, number], [string | null, number | null]>(
        `SELECT (SELECT device_id FROM consumed WHERE jti = ? AND expires_at > ?) AS device_id,
                (SELECT not_before FROM epoch) AS nb`).raw(true),
      dropExpiredMarker: p<[string, number]>(
        'DELETE FROM consumed WHERE jti = ? AND expires_at <= ?'),
      insertMarker: p<[string, string, number]>(
        'INSERT OR IGNORE INTO consumed (jti, device_id, expires_at) VALUES (?, ?, ?)'),
      markerDevice: p<[string], { device_id: string }>('SELECT device_id FROM consumed WHERE jti = ?'),
      putInv: p<[string, string, string, number | null, number, number, number | null]>(
        `INSERT OR REPLACE INTO invitations (id, tenant_id, upn, ownership, created_at, expires_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`),
      getInv: p<[string, number], InvitationRow>(
        'SELECT * FROM invitations WHERE id = ? AND expires_at > ?'),
      useInv: p<[number, string, number]>(
        'UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?'),
      hit: p<[string, number], { count: number }>(
        `INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?)
         ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count`),
      count: p<[string, number], { count: number }>(
        'SELECT count FROM counters WHERE key = ? AND expires_at > ?'),
      release: p<[string]>('UPDATE counters SET count = count - 1 WHERE key = ? AND count > 0'),
      remember: p<[string, string, number]>(
        `INSERT INTO familiar (subject, address, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (subject, address) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`),
      familiar: p<[string, string, number], { one: number }>(
        'SELECT 1 AS one FROM familiar WHERE subject = ? AND address = ? AND expires_at > ?'),
      addAudit: p<[number, string, string | null, string]>(
        'INSERT INTO audit (at, type, tenant_id, event) VALUES (?, ?, ?, ?)'),
      listAudit: p<[number, number], { event: string }>(
        'SELECT event FROM audit WHERE at < ? ORDER BY at DESC, id DESC LIMIT ?'),
      listAuditTenant: p<[string, number, number], { event: string }>(
        'SELECT event FROM audit WHERE tenant_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?'),
      purgeAudit: p<[number]>('DELETE FROM audit WHERE at < ?'),
      listInv: p<[number, number], InvitationRow>(
        'SELECT * FROM invitations WHERE expires_at > ? ORDER BY created_at DESC, id DESC LIMIT ?'),
      listInvTenant: p<[string, number, number], InvitationRow>(
        'SELECT * FROM invitations WHERE tenant_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT ?'),
      revokeInv: p<[string, number]>('DELETE FROM invitations WHERE id = ? AND expires_at > ?'),
      tenantExists: p<[string], { one: number }>('SELECT 1 AS one FROM tenants WHERE id = ?'),
      tenantVersion: p<[string], { version: number }>('SELECT version FROM tenants WHERE id = ?'),
      domainOwner: p<[string], { tenant_id: string }>('SELECT tenant_id FROM tenant_domains WHERE domain = ?'),
      insertTenant: p<[string, string, string, number]>(
        'INSERT INTO tenants (id, doc, domains, version, updated_at) VALUES (?, ?, ?, 1, ?)'),
      replaceTenant: p<[string, string, number, string]>(
        'UPDATE tenants SET doc = ?, domains = ?, version = version + 1, updated_at = ? WHERE id = ?'),
      deleteTenant: p<[string]>('DELETE FROM tenants WHERE id = ?'),
      dropDomains: p<[string]>('DELETE FROM tenant_domains WHERE tenant_id = ?'),
      claimDomain: p<[string, string]>('INSERT INTO tenant_domains (domain, tenant_id) VALUES (?, ?)'),
      listTenants: p<[], { id: string; doc: string; domains: string; version: number; updated_at: number }>(
        'SELECT * FROM tenants ORDER BY id'),
      bumpRevision: p<[]>('UPDATE tenants_revision SET rev = rev + 1'),
      revision: p<[], { rev: number }>('SELECT rev FROM tenants_revision'),
      putLogo: p<[string, string, Buffer, string]>(
        'INSERT OR REPLACE INTO logos (tenant_id, content_type, bytes, etag) VALUES (?, ?, ?, ?)'),
      getLogo: p<[string], { content_type: TenantLogo['contentType']; bytes: Buffer; etag: string }>(
        'SELECT content_type, bytes, etag FROM logos WHERE tenant_id = ?'),
      deleteLogo: p<[string]>('DELETE FROM logos WHERE tenant_id = ?'),
      purge: ['transactions', 'consumed', 'invitations', 'counters', 'familiar'].map((t) =>
        p<[number]>(`DELETE FROM ${t} WHERE expires_at <= ?`)),
      ping: p<[]>('SELECT 1'),
    };

    // IMMEDIATE takes the write lock up front, so two processes sharing the
    // file cannot both see "not consumed" and both insert.
    const epochNotBefore = p<[], { not_before: number }>('SELECT not_before FROM epoch');
    const consumeTx = db.transaction((jti: string, deviceId: string, expiresAt: number, now: number, issuedAt?: number): ConsumeResult => {
      // Read inside the write transaction: another process may have raised it.
      if (issuedAt !== undefined && issuedAt < (epochNotBefore.get()?.not_before ?? Infinity)) return 'replayed';
      st.dropExpiredMarker.run(jti, now);
      if (st.insertMarker.run(jti, deviceId, expiresAt).changes === 1) return 'consumed';
      const bound = st.markerDevice.get(jti)!.device_id;
      return deviceId !== '' && bound === deviceId ? 'retry' : 'replayed';
    });
    const appendTx = db.transaction((events: AuditEvent[]) => {
      for (const e of events) st.addAudit.run(e.at, e.type, e.tenantId ?? null, JSON.stringify(e));
    });
    const purgeTx = db.transaction((now: number) => {
      for (const q of st.purge) q.run(now);
    });
    // Tenants: every change runs in one IMMEDIATE transaction (a write lock across processes),
    // so a domain is claimed by exactly one tenant (the tenant_domains primary key says so too)
    // and the revision moves with the change it announces.
    const tenantTx = {
      create: db.transaction((id: string, doc: string, domains: string[], now: number): TenantCreateResult => {
        if (st.tenantExists.get(id)) return 'id_taken';
        if (domains.some((d) => st.domainOwner.get(d) !== undefined)) return 'domain_taken';
        st.insertTenant.run(id, doc, JSON.stringify(domains), now);
        // A new tenant never inherits a logo left under its id (docs/admin-api.md, Tenant logo).
        st.deleteLogo.run(id);
        for (const d of domains) st.claimDomain.run(d, id);
        st.bumpRevision.run();
        return 'ok';
      }),
      update: db.transaction((id: string, doc: string, domains: string[], now: number, ifVersion: number | null): TenantUpdateResult => {
        const current = st.tenantVersion.get(id);
        if (!current) return 'not_found';
        if (ifVersion !== null && current.version !== ifVersion) return 'version_mismatch';
        if (domains.some((d) => (st.domainOwner.get(d)?.tenant_id ?? id) !== id)) return 'domain_taken';
        st.replaceTenant.run(doc, JSON.stringify(domains), now, id);
        st.dropDomains.run(id);
        for (const d of domains) st.claimDomain.run(d, id);
        st.bumpRevision.run();
        return 'ok';
      }),
      delete: db.transaction((id: string, ifVersion: number | null): boolean | 'version_mismatch' => {
        if (ifVersion !== null) {
          const current = st.tenantVersion.get(id);
          if (current && current.version !== ifVersion) return 'version_mismatch';
        }
        if (st.deleteTenant.run(id).changes === 0) return false;
        st.dropDomains.run(id);
        st.deleteLogo.run(id);
        st.bumpRevision.run();
        return true;
      }),
      putLogo: db.transaction((tenantId: string, contentType: string, bytes: Buffer, etag: string) => {
        st.putLogo.run(tenantId, contentType, bytes, etag);
        st.bumpRevision.run();
      }),
    };
    // Replay reads of one event-loop turn in one read transaction (consumedBy): each
    // transaction takes and releases SQLite's WAL read lock, two file-lock calls.
    const readMarkersTx = db.transaction((batch: PendingRead[]) => batch.map((r) => st.consumedBy.get(r.jti, r.now)!));
    return { ...st, epochNotBefore, consumeTx, appendTx, purgeTx, tenantTx, readMarkersTx };
  }

  private static openDb(path: string): Database.Database {
    const inMemory = path === ':memory:' || path === '';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // safe with WAL; fsync at checkpoints only
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const db = SqliteStore.openDb(path);
    try {
      return new SqliteStore(db, path, opts.onStateLost ?? (() => {}), opts.now ?? Date.now());
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Runs a statement; "SQLite cannot serve" (locked, I/O) becomes the 503 store_unavailable. */
  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw isSqliteUnavailable(err) ? storeUnavailable(err) : err;
    }
  }

  async putTransaction(tx: Transaction): Promise<void> {
    return this.run(() => {
      this.s.putTx.run(tx.state, JSON.stringify(tx), tx.expiresAt);
    });
  }

  async getTransaction(state: string, now: number): Promise<Transaction | null> {
    return this.run(() => {
      const row = this.s.getTx.get(state, now);
      return row ? (JSON.parse(row.data) as Transaction) : null;
    });
  }

  async takeTransaction(state: string, now: number): Promise<Transaction | null> {
    return this.run(() => {
      // Deleting an expired row is fine: nobody may have it anyway.
      const row = this.s.takeTx.get(state);
      return row && row.expires_at > now ? (JSON.parse(row.data) as Transaction) : null;
    });
  }

  /**
   * The replay read of a check that does not consume (a GetPolicies: /introspect's hot path).
   * Reads asked for during one turn of the event loop are made together at its end, in one
   * read transaction (docs/operations.md, "Capacity"): each answer is the state at a moment
   * during its request, as a read made at once would be.
   */
  consumedBy(jti: string, now: number, issuedAt?: number): Promise<string | null> {
    return new Promise((resolve, reject) => {
      if (this.pendingReads.length === 0) setImmediate(this.readPending);
      this.pendingReads.push({ jti, now, issuedAt, resolve, reject });
    });
  }

  private pendingReads: PendingRead[] = [];

  private readonly readPending = (): void => {
    const batch = this.pendingReads;
    this.pendingReads = [];
    let rows: Array<[string | null, number | null]>;
    try {
      // A read-only check looks at the file at most once a second of real time: until then it
      // reads the file it has open, which keeps every marker written before the replacement.
      // A consumption (below) always looks first.
      if (performance.now() - this.fileCheckedAt >= FILE_CHECK_INTERVAL_MS) this.ensureSameFile(batch[0].now);
      // A read alone in its turn needs no transaction around it (BEGIN and COMMIT would cost more than they save).
      rows = batch.length === 1 ? [this.s.consumedBy.get(batch[0].jti, batch[0].now)!] : this.s.readMarkersTx(batch);
    } catch (err) {
      const failure = isSqliteUnavailable(err) ? storeUnavailable(err) : err;
      for (const r of batch) r.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const [deviceId, nb] = rows[i];
      const { issuedAt, resolve } = batch[i];
      resolve(issuedAt !== undefined && issuedAt < (nb ?? Infinity) ? '' : deviceId);
    }
  };

  async consumeToken(jti: string, deviceId: string, expiresAt: number, now: number, issuedAt?: number): Promise<ConsumeResult> {
    return this.run(() => {
      this.ensureSameFile(now);
      return this.consumeTx.immediate(jti, deviceId, expiresAt, now, issuedAt);
    });
  }

  async putInvitation(inv: Invitation): Promise<void> {
    return this.run(() => {
      this.s.putInv.run(inv.id, inv.tenantId, inv.upn, inv.ownership, inv.createdAt, inv.expiresAt, inv.usedAt);
    });
  }

  async getInvitation(id: string, now: number): Promise<Invitation | null> {
    return this.run(() => {
      const r = this.s.getInv.get(id, now);
      return r ? invitationOf(r) : null;
    });
  }

  async useInvitation(id: string, now: number): Promise<boolean> {
    return this.run(() => {
      return this.s.useInv.run(now, id, now).changes === 1;
    });
  }

  async hit(key: string, windowMs: number, now: number): Promise<number> {
    return this.run(() => {
      const win = Math.floor(now / windowMs);
      return this.s.hit.get(`${key}:${win}`, (win + 1) * windowMs)!.count;
    });
  }

  async count(key: string, windowMs: number, now: number): Promise<number> {
    return this.run(() => {
      return this.s.count.get(`${key}:${Math.floor(now / windowMs)}`, now)?.count ?? 0;
    });
  }

  async release(key: string, windowMs: number, now: number): Promise<void> {
    return this.run(() => {
      this.s.release.run(`${key}:${Math.floor(now / windowMs)}`);
    });
  }

  async rememberAddress(subject: string, address: string, expiresAt: number, _now: number): Promise<void> {
    return this.run(() => {
      this.s.remember.run(subject, address, expiresAt);
    });
  }

  async isFamiliarAddress(subject: string, address: string, now: number): Promise<boolean> {
    return this.run(() => {
      return this.s.familiar.get(subject, address, now) !== undefined;
    });
  }

  async appendAudit(events: AuditEvent[]): Promise<void> {
    return this.run(() => {
      if (events.length > 0) this.appendTx(events);
    });
  }

  async listAudit(opts: { limit: number; before?: number; tenantId?: string }): Promise<AuditEvent[]> {
    return this.run(() => {
      const limit = Math.max(0, Math.floor(opts.limit));
      const before = opts.before ?? NO_BEFORE;
      const rows = opts.tenantId === undefined
        ? this.s.listAudit.all(before, limit)
        : this.s.listAuditTenant.all(opts.tenantId, before, limit);
      return rows.map((r) => JSON.parse(r.event) as AuditEvent);
    });
  }

  /**
   * Newest first by (at, id): id is the autoincrement rowid, so events of one millisecond are
   * ordered too and a cursor (at, id) continues exactly after the last event handed out.
   * A cursor that is garbage or made for another filter throws the 400 invalid_request.
   */
  async queryAudit(q: AuditQuery): Promise<{ events: StoredAuditEvent[]; nextCursor: string | null }> {
    const limit = auditPageSize(q);
    const pos = decodeAuditCursor(q);
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.tenantId !== undefined) {
      where.push('tenant_id = ?');
      params.push(q.tenantId);
    }
    if (q.type !== undefined) {
      where.push('type = ?');
      params.push(q.type);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      params.push(q.since);
    }
    if (pos) {
      where.push('(at < ? OR (at = ? AND id < ?))');
      params.push(pos.at, pos.at, pos.id);
    }
    const sql = `SELECT id, at, event FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT ?`;
    return this.run(() => {
      const rows = this.db.prepare<(string | number)[], { id: number; at: number; event: string }>(sql).all(...params, limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        events: page.map((r) => ({ ...(JSON.parse(r.event) as AuditEvent), id: String(r.id) })),
        nextCursor: rows.length > limit && last ? encodeAuditCursor(q, { at: last.at, id: last.id }) : null,
      };
    });
  }

  async purgeAudit(before: number): Promise<number> {
    return this.run(() => this.s.purgeAudit.run(before).changes);
  }

  async listInvitations(opts: { tenantId?: string; now: number; limit: number }): Promise<Invitation[]> {
    return this.run(() => {
      const limit = listLimit(opts.limit);
      const rows = opts.tenantId === undefined
        ? this.s.listInv.all(opts.now, limit)
        : this.s.listInvTenant.all(opts.tenantId, opts.now, limit);
      return rows.map(invitationOf);
    });
  }

  async revokeInvitation(id: string, now: number): Promise<boolean> {
    return this.run(() => this.s.revokeInv.run(id, now).changes === 1);
  }

  async createTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number): Promise<TenantCreateResult> {
    return this.run(() => this.tenantTx.create.immediate(t.id, JSON.stringify(t.doc), checkTenantInput(t), now));
  }

  async updateTenant(t: { id: string; doc: Record<string, unknown>; domains: string[] }, now: number, ifVersion?: number): Promise<TenantUpdateResult> {
    return this.run(() => this.tenantTx.update.immediate(t.id, JSON.stringify(t.doc), checkTenantInput(t), now, ifVersion ?? null));
  }

  async deleteTenant(id: string, ifVersion?: number): Promise<boolean | 'version_mismatch'> {
    return this.run(() => this.tenantTx.delete.immediate(id, ifVersion ?? null));
  }

  async listTenants(): Promise<StoredTenant[]> {
    return this.run(() =>
      this.s.listTenants.all().map((r) => ({
        id: r.id,
        doc: parseStoredJson<Record<string, unknown>>(r.doc, {}),
        domains: parseStoredJson<string[]>(r.domains, []),
        version: r.version,
        updatedAt: r.updated_at,
      })),
    );
  }

  async tenantsRevision(): Promise<number> {
    return this.run(() => this.s.revision.get()?.rev ?? 0);
  }

  async putLogo(tenantId: string, logo: Omit<TenantLogo, 'etag'>): Promise<TenantLogo> {
    checkLogo(logo);
    const stored: TenantLogo = { contentType: logo.contentType, bytes: Buffer.from(logo.bytes), etag: newEtag() };
    this.run(() => this.tenantTx.putLogo.immediate(tenantId, stored.contentType, stored.bytes, stored.etag));
    return stored;
  }

  async getLogo(tenantId: string): Promise<TenantLogo | null> {
    return this.run(() => {
      const r = this.s.getLogo.get(tenantId);
      return r ? { contentType: r.content_type, bytes: r.bytes, etag: r.etag } : null;
    });
  }

  async purgeExpired(now: number): Promise<void> {
    return this.run(() => {
      this.purgeTx(now);
    });
  }

  async ping(): Promise<void> {
    this.run(() => this.s.ping.get());
  }

  async durabilityWarnings(): Promise<string[]> {
    return this.fileId === null && (this.path === ':memory:' || this.path === '')
      ? ['the SQLite store is in memory: a restart forgets every consumed token (Fedbridge then refuses older tokens at Enroll)']
      : [];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
