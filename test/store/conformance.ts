import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Invitation, Store, Transaction } from '../../src/store/types.js';
import { adminConformance } from './conformance-admin.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Unique per call, so every test can share one store. */
const uid = (tag: string) => `${tag}-${randomUUID()}`;

function makeTx(now: number, over: Partial<Transaction> = {}): Transaction {
  return {
    state: uid('state'),
    tenantId: null,
    appru: 'ms-app://windows.immersivecontrolpanel',
    loginHint: 'user@example.com',
    client: { deviceidentifier: 'dev-1', ownership: '1' },
    invitationId: null,
    upstream: { nonce: 'n-123', verifier: 'v-456' },
    ip: '192.0.2.7',
    locale: 'en-US',
    createdAt: now,
    expiresAt: now + 10 * MIN,
    ...over,
  };
}

function makeInvitation(now: number, over: Partial<Invitation> = {}): Invitation {
  return {
    id: uid('inv'),
    tenantId: uid('tenant'),
    upn: 'invitee@example.com',
    ownership: 1,
    createdAt: now,
    expiresAt: now + 24 * HOUR,
    usedAt: null,
    ...over,
  };
}

/**
 * The behaviour every Store must share. Times are real-ish (Date.now()) so
 * backends with real TTLs keep the data; expiry is exercised by passing a
 * later `now`, which is the clock the interface promises to honour.
 */
export function runStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('answers ping and names its kind', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(['sqlite', 'redis']).toContain(store.kind);
    });

    describe('transactions', () => {
      it('round-trips every field', async () => {
        const now = Date.now();
        const tx = makeTx(now, { tenantId: 't-1', invitationId: 'inv-1', loginHint: null });
        await store.putTransaction(tx);
        expect(await store.getTransaction(tx.state, now)).toEqual(tx);
        // get does not consume
        expect(await store.getTransaction(tx.state, now + 1)).toEqual(tx);
      });

      it('returns null for an unknown state', async () => {
        expect(await store.getTransaction(uid('nope'), Date.now())).toBeNull();
        expect(await store.takeTransaction(uid('nope'), Date.now())).toBeNull();
      });

      it('put overwrites the same state', async () => {
        const now = Date.now();
        const tx = makeTx(now);
        await store.putTransaction(tx);
        await store.putTransaction({ ...tx, tenantId: 'found' });
        expect((await store.getTransaction(tx.state, now))?.tenantId).toBe('found');
      });

      it('take returns it once, then null', async () => {
        const now = Date.now();
        const tx = makeTx(now);
        await store.putTransaction(tx);
        expect(await store.takeTransaction(tx.state, now)).toEqual(tx);
        expect(await store.takeTransaction(tx.state, now)).toBeNull();
        expect(await store.getTransaction(tx.state, now)).toBeNull();
      });

      it('concurrent takes: exactly one wins', async () => {
        const now = Date.now();
        const tx = makeTx(now);
        await store.putTransaction(tx);
        const results = await Promise.all(Array.from({ length: 10 }, () => store.takeTransaction(tx.state, now)));
        expect(results.filter((r) => r !== null)).toEqual([tx]);
      });

      it('is not returned at or after expiresAt', async () => {
        const now = Date.now();
        const tx = makeTx(now, { expiresAt: now + MIN });
        await store.putTransaction(tx);
        expect(await store.getTransaction(tx.state, now + MIN - 1)).not.toBeNull();
        expect(await store.getTransaction(tx.state, now + MIN)).toBeNull();
        expect(await store.takeTransaction(tx.state, now + 2 * MIN)).toBeNull();
      });
    });

    describe('consumed tokens', () => {
      it('first consume binds the device; same device retries; others are replays', async () => {
        const now = Date.now();
        const jti = uid('jti');
        const exp = now + 10 * MIN;
        expect(await store.consumedBy(jti, now)).toBeNull();
        expect(await store.consumeToken(jti, 'dev-A', exp, now)).toBe('consumed');
        expect(await store.consumedBy(jti, now)).toBe('dev-A');
        expect(await store.consumeToken(jti, 'dev-A', exp, now + 1)).toBe('retry');
        expect(await store.consumeToken(jti, 'dev-B', exp, now + 2)).toBe('replayed');
        expect(await store.consumeToken(jti, '', exp, now + 3)).toBe('replayed');
        // a replay attempt does not rebind
        expect(await store.consumedBy(jti, now + 4)).toBe('dev-A');
      });

      it("a token consumed with deviceId '' is bound to no device: every later call is a replay", async () => {
        const now = Date.now();
        const jti = uid('jti');
        const exp = now + 10 * MIN;
        expect(await store.consumeToken(jti, '', exp, now)).toBe('consumed');
        expect(await store.consumedBy(jti, now)).toBe('');
        expect(await store.consumeToken(jti, '', exp, now + 1)).toBe('replayed');
        expect(await store.consumeToken(jti, 'dev-A', exp, now + 2)).toBe('replayed');
      });

      it('the marker expires: consumedBy is null and the jti can be consumed afresh', async () => {
        const now = Date.now();
        const jti = uid('jti');
        await store.consumeToken(jti, 'dev-A', now + MIN, now);
        expect(await store.consumedBy(jti, now + MIN - 1)).toBe('dev-A');
        expect(await store.consumedBy(jti, now + MIN)).toBeNull();
        expect(await store.consumeToken(jti, 'dev-B', now + 3 * MIN, now + 2 * MIN)).toBe('consumed');
        expect(await store.consumedBy(jti, now + 2 * MIN)).toBe('dev-B');
      });

      it('many reads at once, with a consume among them, each get their own answer', async () => {
        const now = Date.now();
        const bound = uid('jti');
        const open = uid('jti');
        const expired = uid('jti');
        const late = uid('jti');
        await store.consumeToken(bound, 'dev-A', now + 10 * MIN, now);
        await store.consumeToken(expired, 'dev-E', now + 1, now);
        // All asked in one turn of the event loop; `late` is consumed after its first read was asked.
        const reads = [bound, open, expired, bound, open, late].map((jti) => store.consumedBy(jti, now + 1));
        const consumed = store.consumeToken(late, 'dev-L', now + 10 * MIN, now + 1);
        const again = store.consumedBy(late, now + 1);
        expect(await Promise.all(reads)).toEqual(['dev-A', null, null, 'dev-A', null, expect.toSatisfy((v) => v === null || v === 'dev-L')]);
        expect(await consumed).toBe('consumed');
        expect(await again).toBe('dev-L');
        expect(await store.consumedBy(late, now + 2)).toBe('dev-L');
        // 300 reads in one turn: every answer right.
        const many = await Promise.all(Array.from({ length: 300 }, (_, i) => store.consumedBy(i % 3 === 0 ? bound : uid('none'), now + 1)));
        expect(many.filter((v) => v === 'dev-A')).toHaveLength(100);
        expect(many.filter((v) => v === null)).toHaveLength(200);
      });

      it('concurrent consumes by one device: one consumed, the rest retries', async () => {
        const now = Date.now();
        const jti = uid('jti');
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.consumeToken(jti, 'dev-A', now + MIN, now)),
        );
        expect(results.filter((r) => r === 'consumed')).toHaveLength(1);
        expect(results.filter((r) => r === 'retry')).toHaveLength(7);
      });

      it('concurrent consumes by different devices: exactly one consumed', async () => {
        const now = Date.now();
        const jti = uid('jti');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.consumeToken(jti, `dev-${i}`, now + MIN, now)),
        );
        expect(results.filter((r) => r === 'consumed')).toHaveLength(1);
        expect(results.filter((r) => r === 'replayed')).toHaveLength(7);
      });
    });

    describe('invitations', () => {
      it('round-trips and returns null when unknown', async () => {
        const now = Date.now();
        const inv = makeInvitation(now);
        await store.putInvitation(inv);
        expect(await store.getInvitation(inv.id, now)).toEqual(inv);
        const noOwnership = makeInvitation(now, { ownership: null });
        await store.putInvitation(noOwnership);
        expect(await store.getInvitation(noOwnership.id, now)).toEqual(noOwnership);
        expect(await store.getInvitation(uid('nope'), now)).toBeNull();
      });

      it('can be used once; the second use and unknown ids are refused', async () => {
        const now = Date.now();
        const inv = makeInvitation(now);
        await store.putInvitation(inv);
        expect(await store.useInvitation(inv.id, now + 5)).toBe(true);
        expect(await store.getInvitation(inv.id, now + 6)).toEqual({ ...inv, usedAt: now + 5 });
        expect(await store.useInvitation(inv.id, now + 7)).toBe(false);
        expect((await store.getInvitation(inv.id, now + 8))?.usedAt).toBe(now + 5);
        expect(await store.useInvitation(uid('nope'), now)).toBe(false);
      });

      it('an invitation put as already used cannot be used', async () => {
        const now = Date.now();
        const inv = makeInvitation(now, { usedAt: now - 1 });
        await store.putInvitation(inv);
        expect(await store.getInvitation(inv.id, now)).toEqual(inv);
        expect(await store.useInvitation(inv.id, now)).toBe(false);
      });

      it('concurrent uses: exactly one succeeds', async () => {
        const now = Date.now();
        const inv = makeInvitation(now);
        await store.putInvitation(inv);
        const results = await Promise.all(Array.from({ length: 8 }, () => store.useInvitation(inv.id, now)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('an expired invitation is not returned and cannot be used', async () => {
        const now = Date.now();
        const inv = makeInvitation(now, { expiresAt: now + MIN });
        await store.putInvitation(inv);
        expect(await store.getInvitation(inv.id, now + MIN)).toBeNull();
        expect(await store.useInvitation(inv.id, now + MIN)).toBe(false);
        // and the failed use did not mark it
        expect((await store.getInvitation(inv.id, now))?.usedAt).toBeNull();
      });
    });

    describe('counters', () => {
      // Start a little into a window so now + small offsets stay in it.
      const windowStart = (w: number) => Math.floor(Date.now() / w) * w + 10;

      it('hit increments; count reads without adding', async () => {
        const key = uid('ctr');
        const now = windowStart(MIN);
        expect(await store.count(key, MIN, now)).toBe(0);
        expect(await store.hit(key, MIN, now)).toBe(1);
        expect(await store.hit(key, MIN, now + 1)).toBe(2);
        expect(await store.hit(key, MIN, now + 2)).toBe(3);
        expect(await store.count(key, MIN, now + 3)).toBe(3);
        expect(await store.count(key, MIN, now + 4)).toBe(3);
      });

      it('windows and keys are separate', async () => {
        const key = uid('ctr');
        const other = uid('ctr');
        const now = windowStart(MIN);
        await store.hit(key, MIN, now);
        await store.hit(key, MIN, now);
        expect(await store.count(other, MIN, now)).toBe(0);
        expect(await store.hit(other, MIN, now)).toBe(1);
        // next window starts from zero; the previous window is untouched
        expect(await store.count(key, MIN, now + MIN)).toBe(0);
        expect(await store.hit(key, MIN, now + MIN)).toBe(1);
        expect(await store.count(key, MIN, now)).toBe(2);
      });

      it('concurrent hits are all counted', async () => {
        const key = uid('ctr');
        const now = windowStart(HOUR);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.hit(key, HOUR, now)));
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(await store.count(key, HOUR, now)).toBe(20);
      });

      it('release gives one hit back in the window of `now`, never below zero', async () => {
        const key = uid('ctr');
        const now = windowStart(MIN);
        await store.hit(key, MIN, now);
        await store.hit(key, MIN, now);
        await store.release(key, MIN, now + 1);
        expect(await store.count(key, MIN, now + 2)).toBe(1);
        // the next window's counter is another counter: releasing there leaves this one alone
        await store.release(key, MIN, now + MIN);
        expect(await store.count(key, MIN, now)).toBe(1);
        expect(await store.count(key, MIN, now + MIN)).toBe(0);
        await store.release(key, MIN, now);
        await store.release(key, MIN, now);
        await store.release(uid('never-hit'), MIN, now);
        expect(await store.count(key, MIN, now)).toBe(0);
        expect(await store.hit(key, MIN, now)).toBe(1);
      });

      it('concurrent hits past a limit: exactly `limit` callers see a count within it', async () => {
        const key = uid('ctr');
        const now = windowStart(HOUR);
        const results = await Promise.all(Array.from({ length: 40 }, () => store.hit(key, HOUR, now)));
        expect(results.filter((n) => n <= 3)).toHaveLength(3);
      });
    });

    describe('familiar addresses', () => {
      it('are remembered per subject and per address', async () => {
        const now = Date.now();
        const [alice, bob] = [uid('alice'), uid('bob')];
        expect(await store.isFamiliarAddress(alice, '192.0.2.1', now)).toBe(false);
        await store.rememberAddress(alice, '192.0.2.1', now + HOUR, now);
        await store.rememberAddress(alice, '2001:db8:1::/64', now + HOUR, now);
        expect(await store.isFamiliarAddress(alice, '192.0.2.1', now + 1)).toBe(true);
        expect(await store.isFamiliarAddress(alice, '2001:db8:1::/64', now + 1)).toBe(true);
        expect(await store.isFamiliarAddress(alice, '192.0.2.2', now + 1)).toBe(false);
        expect(await store.isFamiliarAddress(bob, '192.0.2.1', now + 1)).toBe(false);
      });

      it('expire at expiresAt; remembering again extends and never shortens', async () => {
        const now = Date.now();
        const who = uid('user');
        await store.rememberAddress(who, '198.51.100.7', now + MIN, now);
        expect(await store.isFamiliarAddress(who, '198.51.100.7', now + MIN - 1)).toBe(true);
        expect(await store.isFamiliarAddress(who, '198.51.100.7', now + MIN)).toBe(false);
        await store.rememberAddress(who, '198.51.100.7', now + HOUR, now + 1);
        expect(await store.isFamiliarAddress(who, '198.51.100.7', now + HOUR - 1)).toBe(true);
        await store.rememberAddress(who, '198.51.100.7', now + 2 * MIN, now + 2);
        expect(await store.isFamiliarAddress(who, '198.51.100.7', now + HOUR - 1)).toBe(true);
        expect(await store.isFamiliarAddress(who, '198.51.100.7', now + HOUR)).toBe(false);
      });

      it('an expired address of a user does not make a newer one expire, nor the other way round', async () => {
        const now = Date.now();
        const who = uid('user');
        await store.rememberAddress(who, '203.0.113.1', now + MIN, now);
        await store.rememberAddress(who, '203.0.113.2', now + 3 * MIN, now + 2 * MIN); // the first has expired by then
        expect(await store.isFamiliarAddress(who, '203.0.113.1', now + 2 * MIN)).toBe(false);
        expect(await store.isFamiliarAddress(who, '203.0.113.2', now + 2 * MIN)).toBe(true);
        await store.rememberAddress(who, '203.0.113.1', now + HOUR, now + 2 * MIN);
        expect(await store.isFamiliarAddress(who, '203.0.113.1', now + 2 * MIN)).toBe(true);
      });
    });

    describe('audit', () => {
      // A time range no other test writes into, far from real timestamps.
      const uniqueBase = () => 9e12 + Math.floor(Math.random() * 1e9) * 1000;

      it('appends a batch and lists newest first with limit and before', async () => {
        const base = uniqueBase();
        const type = uid('type');
        const events: AuditEvent[] = [1, 2, 3, 4, 5].map((i) => ({ at: base + i, type, subject: `s${i}` }));
        await store.appendAudit(events);
        const top = await store.listAudit({ limit: 3, before: base + 6 });
        expect(top.map((e) => e.subject)).toEqual(['s5', 's4', 's3']);
        const older = await store.listAudit({ limit: 10, before: base + 3 });
        expect(older.slice(0, 2).map((e) => e.subject)).toEqual(['s2', 's1']);
        // whatever else the list holds is older than our range
        expect(older.slice(2).every((e) => e.at <= base)).toBe(true);
      });

      it('filters by tenant and round-trips every field', async () => {
        const now = Date.now();
        const tenant = uid('tenant');
        const full: AuditEvent = {
          at: now + 2,
          type: 'signin.completed',
          tenantId: tenant,
          subject: 'user@example.com',
          ip: '192.0.2.9',
          requestId: 'req-1',
          detail: { jti: 'j-1', ownership: 1, nested: { ok: true } },
        };
        await store.appendAudit([
          { at: now, type: 'signin.started', tenantId: tenant },
          { at: now + 1, type: 'signin.started', tenantId: uid('other') },
          { at: now + 1, type: 'signin.started' },
          full,
        ]);
        const mine = await store.listAudit({ limit: 10, tenantId: tenant });
        expect(mine).toEqual([full, { at: now, type: 'signin.started', tenantId: tenant }]);
        expect(await store.listAudit({ limit: 1, tenantId: tenant })).toEqual([full]);
        expect(await store.listAudit({ limit: 10, tenantId: tenant, before: now + 2 })).toHaveLength(1);
        expect(await store.listAudit({ limit: 10, tenantId: uid('unknown') })).toEqual([]);
      });

      it('orders events with the same timestamp by insertion, newest first', async () => {
        const now = Date.now();
        const tenant = uid('tenant');
        await store.appendAudit([
          { at: now, type: 'a', tenantId: tenant },
          { at: now, type: 'b', tenantId: tenant },
        ]);
        await store.appendAudit([{ at: now, type: 'c', tenantId: tenant }]);
        const list = await store.listAudit({ limit: 10, tenantId: tenant });
        expect(list.map((e) => e.type)).toEqual(['c', 'b', 'a']);
      });

      it('accepts an empty batch and a zero limit', async () => {
        await expect(store.appendAudit([])).resolves.toBeUndefined();
        expect(await store.listAudit({ limit: 0 })).toEqual([]);
      });
    });

    adminConformance(() => store);

    describe('purgeExpired', () => {
      it('keeps live items and expired ones stay invisible', async () => {
        const now = Math.floor(Date.now() / HOUR) * HOUR + 10;
        const later = now + 5 * MIN;
        const shortTx = makeTx(now, { expiresAt: now + MIN });
        const longTx = makeTx(now, { expiresAt: now + HOUR - 20 });
        const shortInv = makeInvitation(now, { expiresAt: now + MIN });
        const longInv = makeInvitation(now, { expiresAt: now + HOUR });
        const [shortJti, longJti, shortCtr, longCtr] = ['jti', 'jti', 'ctr', 'ctr'].map(uid);
        await store.putTransaction(shortTx);
        await store.putTransaction(longTx);
        await store.putInvitation(shortInv);
        await store.putInvitation(longInv);
        await store.consumeToken(shortJti, 'dev-A', now + MIN, now);
        await store.consumeToken(longJti, 'dev-A', now + HOUR, now);
        await store.hit(shortCtr, MIN, now);
        await store.hit(longCtr, HOUR, now);
        const tenant = uid('tenant');
        await store.appendAudit([{ at: now - 2 * HOUR, type: 'old', tenantId: tenant }]);
        const [shortFam, longFam] = ['fam', 'fam'].map(uid);
        await store.rememberAddress(shortFam, '192.0.2.10', now + MIN, now);
        await store.rememberAddress(longFam, '192.0.2.10', now + HOUR, now);

        await store.purgeExpired(later);

        expect(await store.getTransaction(longTx.state, later)).toEqual(longTx);
        expect(await store.getInvitation(longInv.id, later)).toEqual(longInv);
        expect(await store.consumedBy(longJti, later)).toBe('dev-A');
        expect(await store.consumeToken(longJti, 'dev-A', now + HOUR, later)).toBe('retry');
        expect(await store.count(longCtr, HOUR, later)).toBe(1);
        expect(await store.listAudit({ limit: 10, tenantId: tenant })).toHaveLength(1); // audit is kept

        expect(await store.getTransaction(shortTx.state, later)).toBeNull();
        expect(await store.getInvitation(shortInv.id, later)).toBeNull();
        expect(await store.consumedBy(shortJti, later)).toBeNull();
        expect(await store.count(shortCtr, MIN, later)).toBe(0);
        expect(await store.isFamiliarAddress(longFam, '192.0.2.10', later)).toBe(true);
        expect(await store.isFamiliarAddress(shortFam, '192.0.2.10', later)).toBe(false);
        // a purged jti may be consumed afresh
        expect(await store.consumeToken(shortJti, 'dev-B', later + MIN, later)).toBe('consumed');
      });
    });
  });
}
