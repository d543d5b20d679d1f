import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis.js';
import { freePort, startRedis } from '../helpers/redis.js';
import { runStoreConformance } from './conformance.js';
import { EPOCH_GROUPS, epochGroup } from '../../src/store/epoch.js';

let server: Awaited<ReturnType<typeof startRedis>>;
beforeAll(async () => {
  server = await startRedis(); // throws (fails the file) when redis-server is missing
});
afterAll(async () => {
  await server?.stop();
});

runStoreConformance('redis', () => RedisStore.open(server.url, { keyPrefix: `conf-${randomUUID()}:` }));

describe('RedisStore specifics', () => {
  it('keeps every key under the prefix, with TTLs', async () => {
    const prefix = `pfx-${randomUUID()}:`;
    const store = await RedisStore.open(server.url, { keyPrefix: prefix });
    const raw = new Redis(server.url);
    try {
      const now = Date.now();
      await store.putTransaction({
        state: 's1', tenantId: null, appru: 'a', loginHint: null, client: {}, invitationId: null,
        upstream: {}, ip: '::1', locale: 'en', createdAt: now, expiresAt: now + 60_000,
      });
      await store.consumeToken('j1', 'd', now + 60_000, now);
      await store.hit('c1', 60_000, now);
      await store.appendAudit([{ at: now, type: 't', tenantId: 'ten' }]);
      const keys = await raw.keys('*');
      const mine = keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
      const g = epochGroup('j1');
      // Keys one script or MULTI touches together share a hash tag (Redis Cluster).
      expect(mine.filter((k) => !k.startsWith('epoch:'))).toEqual(
        ['{audit}', '{audit}:seq', '{audit}:t:ten', '{audit}:tenants', `ctr:c1:${Math.floor(now / 60_000)}`, `jti:{m${g}}:j1`, 'tx:s1'].sort(),
      );
      // One epoch per marker group, written at open (src/store/epoch.ts).
      expect(mine.filter((k) => k.startsWith('epoch:')).sort()).toEqual(
        Array.from({ length: EPOCH_GROUPS }, (_, i) => `epoch:{m${i}}`).sort(),
      );
      for (const k of ['tx:s1', `jti:{m${g}}:j1`]) {
        const pttl = await raw.pttl(prefix + k);
        expect(pttl).toBeGreaterThan(50_000);
        expect(pttl).toBeLessThanOrEqual(60_000);
      }
      expect(await raw.pttl(`${prefix}ctr:c1:${Math.floor(now / 60_000)}`)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it("keeps a user's familiar addresses in one key that lives as long as its newest member", async () => {
    const prefix = `fam-${randomUUID()}:`;
    const store = await RedisStore.open(server.url, { keyPrefix: prefix });
    const raw = new Redis(server.url);
    try {
      const now = Date.now();
      await store.rememberAddress('t:ann', '192.0.2.1', now + 60_000, now);
      await store.rememberAddress('t:ann', '192.0.2.2', now + 3_600_000, now);
      expect((await raw.keys(`${prefix}*`)).filter((k) => !k.startsWith(`${prefix}epoch:`))).toEqual([`${prefix}fam:t:ann`]);
      const pttl = await raw.pttl(`${prefix}fam:t:ann`);
      expect(pttl).toBeGreaterThan(3_500_000);
      expect(pttl).toBeLessThanOrEqual(3_600_000);
      // Remembering later drops the members that have expired by then.
      await store.rememberAddress('t:ann', '192.0.2.2', now + 3_600_000, now + 120_000);
      expect(await raw.zrange(`${prefix}fam:t:ann`, 0, -1)).toEqual(['192.0.2.2']);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('defaults to the fedbridge: prefix via openStore', async () => {
    const store = await openStore({ kind: 'redis', url: server.url });
    const raw = new Redis(server.url);
    try {
      expect(store.kind).toBe('redis');
      const id = randomUUID();
      await store.hit(id, 60_000, Date.now());
      expect((await raw.keys(`fedbridge:ctr:${id}:*`)).length).toBe(1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('caps the audit log to the newest events', async () => {
    const store = await RedisStore.open(server.url, { keyPrefix: `cap-${randomUUID()}:`, auditCap: 3 });
    try {
      await store.appendAudit([1, 2, 3, 4].map((at) => ({ at, type: 'x', tenantId: 't' })));
      await store.appendAudit([{ at: 5, type: 'x', tenantId: 't' }]);
      expect((await store.listAudit({ limit: 10 })).map((e) => e.at)).toEqual([5, 4, 3]);
      expect((await store.listAudit({ limit: 10, tenantId: 't' })).map((e) => e.at)).toEqual([5, 4, 3]);
    } finally {
      await store.close();
    }
  });

  it('keeps insertion order for equal timestamps past 9 -> 10 sequence numbers', async () => {
    const store = await RedisStore.open(server.url, { keyPrefix: `seq-${randomUUID()}:` });
    try {
      await store.appendAudit(Array.from({ length: 12 }, (_, i) => ({ at: 1, type: `e${i}` })));
      const types = (await store.listAudit({ limit: 12 })).map((e) => e.type);
      expect(types).toEqual(Array.from({ length: 12 }, (_, i) => `e${11 - i}`));
    } finally {
      await store.close();
    }
  });

  it('keeps the invitation index in one hash tag and drops expired or revoked entries', async () => {
    const prefix = `inv-${randomUUID()}:`;
    const store = await RedisStore.open(server.url, { keyPrefix: prefix });
    const raw = new Redis(server.url);
    try {
      const now = Date.now();
      const inv = (id: string, expiresAt: number) => ({
        id, tenantId: 'ten', upn: 'u@example.com', ownership: null, createdAt: now, expiresAt, usedAt: null,
      });
      await store.putInvitation(inv('short', now + 60_000));
      await store.putInvitation(inv('long', now + 3_600_000));
      await store.putInvitation(inv('gone', now + 3_600_000));
      const index = ['{invitations}', '{invitations}:t:ten', '{invitations}:exp'];
      const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).filter((k) => !k.startsWith('epoch:'));
      expect(keys.sort()).toEqual([...index, 'inv:gone', 'inv:long', 'inv:short'].sort());
      expect(await store.revokeInvitation('gone', now)).toBe(true);
      await store.purgeExpired(now + 120_000);
      for (const k of index) expect(await raw.zrange(prefix + k, 0, -1)).toEqual([JSON.stringify(['ten', 'long'])]);
      // An index entry whose invitation vanished (a crash between the two writes) is skipped.
      await raw.del(`${prefix}inv:long`);
      expect(await store.listInvitations({ tenantId: 'ten', now, limit: 10 })).toEqual([]);
      expect(await store.listInvitations({ now, limit: 10 })).toEqual([]);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('keeps tenants, domain claims, logos and the revision under one hash tag; logos as raw bytes', async () => {
    const prefix = `ten-${randomUUID()}:`;
    const store = await RedisStore.open(server.url, { keyPrefix: prefix });
    const raw = new Redis(server.url);
    try {
      expect(await store.createTenant({ id: 'a', doc: { id: 'a' }, domains: ['a.example'] }, 1)).toBe('ok');
      const bytes = Buffer.from([0, 255, 128, 10, 13]);
      await store.putLogo('a', { contentType: 'image/png', bytes });
      const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).filter((k) => !k.startsWith('epoch:'));
      expect(keys.every((k) => k.startsWith('{tenants}:'))).toBe(true);
      expect((await raw.hgetBuffer(`${prefix}{tenants}:logo:a`, 'bytes'))?.equals(bytes)).toBe(true);
      expect(await raw.hget(`${prefix}{tenants}:claims`, 'a.example')).toBe('a');
      expect(await store.deleteTenant('a')).toBe(true);
      const left = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).filter((k) => !k.startsWith('epoch:'));
      expect(left).toEqual(['{tenants}:rev']);
      expect(await store.tenantsRevision()).toBe(3);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('two instances on one Redis: one domain claim wins, and each sees the other\'s changes', async () => {
    const prefix = `two-${randomUUID()}:`;
    const [a, b] = await Promise.all([RedisStore.open(server.url, { keyPrefix: prefix }), RedisStore.open(server.url, { keyPrefix: prefix })]);
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).createTenant({ id: `t${i}`, doc: {}, domains: ['race.example'] }, i)),
      );
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect((await b.listTenants()).map((t) => t.id)).toEqual([`t${results.indexOf('ok')}`]);
      const rev = await a.tenantsRevision();
      await b.putLogo('cfg', { contentType: 'image/png', bytes: Buffer.from([9]) });
      expect(await a.tenantsRevision()).toBe(rev + 1);
      expect((await a.getLogo('cfg'))?.bytes.equals(Buffer.from([9]))).toBe(true);
      await a.appendAudit([1, 2, 3].map((i) => ({ at: 5, type: 'shared', subject: `s${i}` })));
      const first = await a.queryAudit({ limit: 2 });
      const rest = await b.queryAudit({ limit: 2, cursor: first.nextCursor! });
      expect([...first.events, ...rest.events].map((e) => e.subject)).toEqual(['s3', 's2', 's1']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('purgeAudit reaches every tenant log and forgets emptied ones; the count cap still applies', async () => {
    const prefix = `ret-${randomUUID()}:`;
    const store = await RedisStore.open(server.url, { keyPrefix: prefix, auditCap: 3 });
    const raw = new Redis(server.url);
    try {
      await store.appendAudit([1, 2, 3, 4, 5].map((at) => ({ at, type: 'x', tenantId: at < 3 ? 'old' : 'new' })));
      expect((await store.queryAudit({ limit: 10 })).events.map((e) => e.at)).toEqual([5, 4, 3]);
      expect(await store.purgeAudit(4)).toBe(1);
      expect(await raw.exists(`${prefix}{audit}:t:old`)).toBe(0);
      expect(await raw.smembers(`${prefix}{audit}:tenants`)).toEqual(['new']);
      expect((await store.queryAudit({ limit: 10, tenantId: 'new' })).events.map((e) => e.at)).toEqual([5, 4]);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a type filter matching few events still pages through a long log', async () => {
    const store = await RedisStore.open(server.url, { keyPrefix: `type-${randomUUID()}:` });
    try {
      // 12,000 events, one in every 3,000 of the rare type: a page of 5 needs several script calls.
      for (let i = 0; i < 12_000; i += 2000) {
        await store.appendAudit(Array.from({ length: 2000 }, (_, j) => ({ at: 1_000_000 + i + j, type: (i + j) % 3000 === 0 ? 'rare' : 'common' })));
      }
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let n = 0; n < 50; n++) {
        const page = await store.queryAudit({ limit: 5, type: 'rare', cursor });
        seen.push(...page.events.map((e) => e.at));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual([9000, 6000, 3000, 0].map((d) => 1_000_000 + d));
    } finally {
      await store.close();
    }
  }, 60_000);

  it('open rejects quickly and clearly when nothing listens', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(RedisStore.open(`redis://:secret@127.0.0.1:${port}`)).rejects.toThrow(
      new RegExp(`Redis unreachable at redis://127\\.0\\.0\\.1:${port}.*ECONNREFUSED`),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('ping and commands reject after the server goes away', async () => {
    const own = await startRedis();
    const store = await RedisStore.open(own.url);
    await store.ping();
    await own.stop();
    await expect(store.ping()).rejects.toThrow();
    await store.close();
  }, 20_000);
});
