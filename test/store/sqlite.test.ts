import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { runStoreConformance } from './conformance.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedbridge-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Parent directories do not exist yet: open must create them.
runStoreConformance('sqlite file', async () => SqliteStore.open(join(dir, 'conf', 'nested', 'store.db')));
runStoreConformance('sqlite :memory:', async () => SqliteStore.open(':memory:'));

describe('SqliteStore specifics', () => {
  it('keeps data across close and re-open, in WAL mode', async () => {
    const file = join(dir, 'reopen', 'store.db');
    const now = Date.now();
    const first = await openStore({ kind: 'sqlite', path: file });
    expect(first.kind).toBe('sqlite');
    await first.putInvitation({
      id: 'inv-1', tenantId: 't', upn: 'u@example.com', ownership: null,
      createdAt: now, expiresAt: now + 60_000, usedAt: null,
    });
    await first.consumeToken('jti-1', 'dev-A', now + 60_000, now);
    await first.hit('ip:1', 60_000, now);
    await first.appendAudit([{ at: now, type: 'kept', tenantId: 't' }]);
    await first.close();
    await first.close(); // idempotent

    const again = SqliteStore.open(file);
    try {
      expect((await again.getInvitation('inv-1', now))?.upn).toBe('u@example.com');
      expect(await again.consumeToken('jti-1', 'dev-A', now + 60_000, now)).toBe('retry');
      expect(await again.count('ip:1', 60_000, now)).toBe(1);
      expect(await again.listAudit({ limit: 5, tenantId: 't' })).toEqual([{ at: now, type: 'kept', tenantId: 't' }]);
    } finally {
      await again.close();
    }
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('two stores on one file share tenants, claims, logos, the revision and the audit cursor', async () => {
    const file = join(dir, 'shared-tenants', 'store.db');
    const a = SqliteStore.open(file);
    const b = SqliteStore.open(file);
    try {
      expect(await a.createTenant({ id: 'x', doc: { id: 'x' }, domains: ['x.example'] }, 1)).toBe('ok');
      expect(await b.createTenant({ id: 'y', doc: { id: 'y' }, domains: ['X.example.'] }, 2)).toBe('domain_taken');
      expect((await b.listTenants()).map((t) => t.id)).toEqual(['x']);
      const rev = await b.tenantsRevision();
      await a.putLogo('x', { contentType: 'image/png', bytes: Buffer.from([1, 2, 3]) });
      expect(await b.tenantsRevision()).toBeGreaterThan(rev);
      expect((await b.getLogo('x'))?.bytes.equals(Buffer.from([1, 2, 3]))).toBe(true);
      await a.appendAudit([1, 2, 3].map((i) => ({ at: 5, type: 'shared', subject: `s${i}` })));
      const first = await a.queryAudit({ limit: 2, type: 'shared' });
      const rest = await b.queryAudit({ limit: 2, type: 'shared', cursor: first.nextCursor! });
      expect([...first.events, ...rest.events].map((e) => e.subject)).toEqual(['s3', 's2', 's1']);
      expect(rest.nextCursor).toBeNull();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('replay reads of one event-loop turn share one read transaction, and a failure reaches every one of them', async () => {
    const store = SqliteStore.open(':memory:');
    const now = 1_000_000;
    await store.consumeToken('j', 'd', now + 10_000, now);
    const s = (store as unknown as { s: { readMarkersTx: (batch: unknown[]) => unknown } }).s;
    const batches: number[] = [];
    const real = s.readMarkersTx;
    s.readMarkersTx = (batch) => {
      batches.push(batch.length);
      return real(batch);
    };
    expect(await Promise.all([1, 2, 3, 4].map((i) => store.consumedBy(i % 2 ? 'j' : 'x', now)))).toEqual(['d', null, 'd', null]);
    expect(batches).toEqual([4]);
    // One read alone in its turn: a plain read, no transaction.
    expect(await store.consumedBy('j', now)).toBe('d');
    expect(batches).toEqual([4]);
    // The connection fails under the batch: every read of it is refused, none hangs.
    (store as unknown as { db: Database.Database }).db.close();
    const failed = await Promise.allSettled([store.consumedBy('j', now), store.consumedBy('x', now)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('purgeExpired really deletes the rows (not just hides them)', async () => {
    const store = SqliteStore.open(':memory:');
    const now = 1_000_000;
    await store.consumeToken('j', 'd', now + 10, now);
    await store.putInvitation({
      id: 'i', tenantId: 't', upn: 'u', ownership: 0, createdAt: now, expiresAt: now + 10, usedAt: null,
    });
    await store.hit('c', 10, now);
    await store.rememberAddress('f', '192.0.2.1', now + 10, now);
    await store.rememberAddress('g', '192.0.2.1', now + 11, now);
    await store.purgeExpired(now + 10);
    // Read with the old clock: only a physical delete makes these disappear.
    expect(await store.consumedBy('j', now)).toBeNull();
    expect(await store.getInvitation('i', now)).toBeNull();
    expect(await store.count('c', 10, now)).toBe(0);
    expect(await store.isFamiliarAddress('f', '192.0.2.1', now)).toBe(false);
    expect(await store.isFamiliarAddress('g', '192.0.2.1', now)).toBe(true);
    await store.close();
  });
});
