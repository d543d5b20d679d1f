import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent, ConsumeResult, Invitation, Store, Transaction } from './types.js';

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
`;

interface InvitationRow {
  id: string;
  tenant_id: string;
  upn: string;
  ownership: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

// Stands in for "no upper bound" so one prepared statement serves both cases.
const NO_BEFORE = Number.MAX_SAFE_INTEGER;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly s;
  private readonly consumeTx;
  private readonly appendTx;
  private readonly purgeTx;

  private constructor(db: Database.Database) {
    this.db = db;
    const p = <P extends unknown[], R = unknown>(sql: string) => db.prepare<P, R>(sql);
    this.s = {
      putTx: p<[string, string, number]>(
        'INSERT OR REPLACE INTO transactions (state, data, expires_at) VALUES (?, ?, ?)'),
      getTx: p<[string, number], { data: string }>(
        'SELECT data FROM transactions WHERE state = ? AND expires_at > ?'),
      takeTx: p<[string], { data: string; expires_at: number }>(
        'DELETE FROM transactions WHERE state = ? RETURNING data, expires_at'),
      consumedBy: p<[string, number], { device_id: string }>(
        'SELECT device_id FROM consumed WHERE jti = ? AND expires_at > ?'),
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
      purge: ['transactions', 'consumed', 'invitations', 'counters', 'familiar'].map((t) =>
        p<[number]>(`DELETE FROM ${t} WHERE expires_at <= ?`)),
      ping: p<[]>('SELECT 1'),
    };

    // IMMEDIATE takes the write lock up front, so two processes sharing the
    // file cannot both see "not consumed" and both insert.
    this.consumeTx = db.transaction((jti: string, deviceId: string, expiresAt: number, now: number): ConsumeResult => {
      this.s.dropExpiredMarker.run(jti, now);
      if (this.s.insertMarker.run(jti, deviceId, expiresAt).changes === 1) return 'consumed';
      const bound = this.s.markerDevice.get(jti)!.device_id;
      return deviceId !== '' && bound === deviceId ? 'retry' : 'replayed';
    });
    this.appendTx = db.transaction((events: AuditEvent[]) => {
      for (const e of events) this.s.addAudit.run(e.at, e.type, e.tenantId ?? null, JSON.stringify(e));
    });
    this.purgeTx = db.transaction((now: number) => {
      for (const st of this.s.purge) st.run(now);
    });
  }

  static open(path: string): SqliteStore {
    const inMemory = path === ':memory:' || path === '';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // safe with WAL; fsync at checkpoints only
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
      return new SqliteStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async putTransaction(tx: Transaction): Promise<void> {
    this.s.putTx.run(tx.state, JSON.stringify(tx), tx.expiresAt);
  }

  async getTransaction(state: string, now: number): Promise<Transaction | null> {
    const row = this.s.getTx.get(state, now);
    return row ? (JSON.parse(row.data) as Transaction) : null;
  }

  async takeTransaction(state: string, now: number): Promise<Transaction | null> {
    // Deleting an expired row is fine: nobody may have it anyway.
    const row = this.s.takeTx.get(state);
    return row && row.expires_at > now ? (JSON.parse(row.data) as Transaction) : null;
  }

  async consumedBy(jti: string, now: number): Promise<string | null> {
    return this.s.consumedBy.get(jti, now)?.device_id ?? null;
  }

  async consumeToken(jti: string, deviceId: string, expiresAt: number, now: number): Promise<ConsumeResult> {
    return this.consumeTx.immediate(jti, deviceId, expiresAt, now);
  }

  async putInvitation(inv: Invitation): Promise<void> {
    this.s.putInv.run(inv.id, inv.tenantId, inv.upn, inv.ownership, inv.createdAt, inv.expiresAt, inv.usedAt);
  }

  async getInvitation(id: string, now: number): Promise<Invitation | null> {
    const r = this.s.getInv.get(id, now);
    if (!r) return null;
    return {
      id: r.id, tenantId: r.tenant_id, upn: r.upn, ownership: r.ownership,
      createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at,
    };
  }

  async useInvitation(id: string, now: number): Promise<boolean> {
    return this.s.useInv.run(now, id, now).changes === 1;
  }

  async hit(key: string, windowMs: number, now: number): Promise<number> {
    const win = Math.floor(now / windowMs);
    return this.s.hit.get(`${key}:${win}`, (win + 1) * windowMs)!.count;
  }

  async count(key: string, windowMs: number, now: number): Promise<number> {
    return this.s.count.get(`${key}:${Math.floor(now / windowMs)}`, now)?.count ?? 0;
  }

  async release(key: string, windowMs: number, now: number): Promise<void> {
    this.s.release.run(`${key}:${Math.floor(now / windowMs)}`);
  }

  async rememberAddress(subject: string, address: string, expiresAt: number, _now: number): Promise<void> {
    this.s.remember.run(subject, address, expiresAt);
  }

  async isFamiliarAddress(subject: string, address: string, now: number): Promise<boolean> {
    return this.s.familiar.get(subject, address, now) !== undefined;
  }

  async appendAudit(events: AuditEvent[]): Promise<void> {
    if (events.length > 0) this.appendTx(events);
  }

  async listAudit(opts: { limit: number; before?: number; tenantId?: string }): Promise<AuditEvent[]> {
    const limit = Math.max(0, Math.floor(opts.limit));
    const before = opts.before ?? NO_BEFORE;
    const rows = opts.tenantId === undefined
      ? this.s.listAudit.all(before, limit)
      : this.s.listAuditTenant.all(opts.tenantId, before, limit);
    return rows.map((r) => JSON.parse(r.event) as AuditEvent);
  }

  async purgeExpired(now: number): Promise<void> {
    this.purgeTx(now);
  }

  async ping(): Promise<void> {
    this.s.ping.get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
