/**
 * Fail closed when the store forgets (issue #11, docs/operations.md "When the store forgets: fail closed"): a token consumed before the
 * store lost its state is never accepted again, on Redis (FLUSHALL, restart without
 * persistence, another instance recreating the epoch) and on SQLite (file deleted between two
 * starts, or replaced or deleted while running).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.js';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite.js';
import { FedbridgeError } from '../../src/errors.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const MIN = 60_000;
/** A JWT's iat has whole seconds. */
const iatOf = (t: number) => Math.floor(t / 1000) * 1000;

describe('Redis: fail closed when the store forgets', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('after FLUSHALL, every token consumed before is replayed (20 of 20), for another device and in a check', async () => {
    const store = await RedisStore.open(server.url, { keyPrefix: `ep-${randomUUID()}:` });
    const raw = new Redis(server.url);
    try {
      const now = Date.now();
      const jtis = Array.from({ length: 20 }, () => randomUUID());
      for (const jti of jtis) expect(await store.consumeToken(jti, 'dev-A', now + 10 * MIN, now, iatOf(now))).toBe('consumed');
      await raw.flushall();
      const later = now + 2000;
      const again = await Promise.all(jtis.map((jti) => store.consumeToken(jti, 'dev-B', now + 10 * MIN, later, iatOf(now))));
      expect(again).toEqual(jtis.map(() => 'replayed'));
      // Even the device that consumed it cannot tell: fail closed.
      expect(await store.consumeToken(jtis[0]!, 'dev-A', now + 10 * MIN, later, iatOf(now))).toBe('replayed');
      // A non-consuming check sees it as consumed (bound to no device).
      expect(await store.consumedBy(jtis[1]!, later, iatOf(now))).toBe('');
      // Nothing was written for them: they stay refused.
      expect(await store.consumeToken(jtis[2]!, 'dev-B', now + 10 * MIN, later + 1, iatOf(now))).toBe('replayed');
      // A token issued after the loss plus the clock-skew margin (5 s) is consumed as usual.
      const fresh = randomUUID();
      expect(await store.consumeToken(fresh, 'dev-C', later + 10 * MIN, later + 6000, iatOf(later + 6000))).toBe('consumed');
      expect(await store.consumeToken(fresh, 'dev-D', later + 10 * MIN, later + 6001, iatOf(later + 6000))).toBe('replayed');
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a token issued before the store was first opened is refused; one issued in the opening second is not', async () => {
    const now = Date.now();
    const store = await RedisStore.open(server.url, { keyPrefix: `ep-${randomUUID()}:`, now });
    try {
      expect(await store.consumeToken(randomUUID(), 'dev-A', now + MIN, now, iatOf(now) - 1000)).toBe('replayed');
      expect(await store.consumeToken(randomUUID(), 'dev-A', now + MIN, now, iatOf(now))).toBe('consumed');
      // Without an issue time (the assertion replay cache) there is no epoch check.
      expect(await store.consumeToken(randomUUID(), '', now + MIN, now)).toBe('consumed');
    } finally {
      await store.close();
    }
  });

  it('an instance that recreated the epoch after a loss cannot open a window for skewed clocks', async () => {
    const prefix = `ep-${randomUUID()}:`;
    const t0 = Date.now();
    const a = await RedisStore.open(server.url, { keyPrefix: prefix, now: t0 });
    const raw = new Redis(server.url);
    try {
      const jti = randomUUID();
      // Instance A's clock runs 3 s ahead: its token carries iat = t0 + 3 s.
      expect(await a.consumeToken(jti, 'dev-A', t0 + 10 * MIN, t0 + 3000, iatOf(t0 + 3000))).toBe('consumed');
      await raw.flushall();
      // Instance B starts on the empty Redis: to it, this is a new store (epoch from t0 + 1 s).
      const b = await RedisStore.open(server.url, { keyPrefix: prefix, now: t0 + 1000 });
      try {
        // A sees the epoch replaced and raises notBefore to its now + 5 s for everyone.
        expect(await a.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 3500, iatOf(t0 + 3000))).toBe('replayed');
        expect(await b.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 1500, iatOf(t0 + 3000))).toBe('replayed');
      } finally {
        await b.close();
      }
    } finally {
      raw.disconnect();
      await a.close();
    }
  });

  it('Redis restarted empty on the same port: 503 store_unavailable while down, ping fails at once, replayed after', async () => {
    const own = await startRedis();
    const store = await RedisStore.open(own.url);
    try {
      const now = Date.now();
      const jti = randomUUID();
      expect(await store.consumeToken(jti, 'dev-A', now + 10 * MIN, now, iatOf(now))).toBe('consumed');
      await own.stop();
      const started = Date.now();
      await expect(store.ping()).rejects.toMatchObject({ status: 503, code: 'store_unavailable', retryAfter: 5 });
      expect(Date.now() - started).toBeLessThan(200);
      const down = await store.consumeToken(jti, 'dev-B', now + 10 * MIN, now + 1, iatOf(now)).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(FedbridgeError);
      expect(down).toMatchObject({ status: 503, code: 'store_unavailable', retryAfter: 5 });
      await own.restart();
      // Ready again within a second of Redis (reconnect backoff capped at 500 ms).
      const back = Date.now();
      for (;;) {
        try {
          await store.ping();
          break;
        } catch {
          if (Date.now() - back > 3000) throw new Error('store not ready 3 s after Redis came back');
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      expect(Date.now() - back).toBeLessThan(1000);
      expect(await store.consumeToken(jti, 'dev-B', now + 10 * MIN, Date.now(), iatOf(now))).toBe('replayed');
    } finally {
      await store.close();
      await own.stop();
    }
  }, 20_000);

  it('warns at start-up about persistence: off, RDB only, and CONFIG disabled; none with AOF', async () => {
    const cases: [string[], RegExp | null][] = [
      [[], /has persistence off \(appendonly no, save ""\)/],
      [['--save', '3600 1'], /persists only RDB snapshots \(save "3600 1"\)/],
      [['--rename-command', 'CONFIG', ''], /could not check Redis persistence .*make sure appendonly is yes/],
      [['--appendonly', 'yes'], null],
    ];
    for (const [args, expected] of cases) {
      const own = await startRedis({ args });
      const store = await RedisStore.open(own.url);
      try {
        const warnings = await store.durabilityWarnings();
        if (expected) {
          expect(warnings).toHaveLength(1);
          expect(warnings[0]).toMatch(expected);
        } else {
          expect(warnings).toEqual([]);
        }
      } finally {
        await store.close();
        await own.stop();
      }
    }
  }, 30_000);
});

describe('SQLite: fail closed when the store forgets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedbridge-epoch-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const wipe = async (file: string) => {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) await unlink(f).catch(() => {});
  };

  it('the database file deleted between two starts: the consumed token is replayed', async () => {
    const file = join(dir, randomUUID(), 'store.db');
    const t0 = Date.now();
    const jti = randomUUID();
    const first = SqliteStore.open(file, { now: t0 });
    expect(await first.consumeToken(jti, 'dev-A', t0 + 10 * MIN, t0, iatOf(t0))).toBe('consumed');
    await first.close();
    await wipe(file);
    const second = SqliteStore.open(file, { now: t0 + 30_000 });
    try {
      expect(await second.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 30_001, iatOf(t0))).toBe('replayed');
      expect(await second.consumedBy(jti, t0 + 30_002, iatOf(t0))).toBe('');
      expect(await second.consumeToken(randomUUID(), 'dev-C', t0 + 10 * MIN, t0 + 30_003, iatOf(t0 + 30_000))).toBe('consumed');
    } finally {
      await second.close();
    }
  });

  it('the file replaced while running (another process recreated it): both processes refuse the token', async () => {
    const file = join(dir, randomUUID(), 'store.db');
    const t0 = Date.now();
    const jti = randomUUID();
    const lost: string[] = [];
    const running = SqliteStore.open(file, { now: t0, onStateLost: (d) => lost.push(d) });
    try {
      // Its clock runs 3 s ahead of the other process's.
      expect(await running.consumeToken(jti, 'dev-A', t0 + 10 * MIN, t0 + 3000, iatOf(t0 + 3000))).toBe('consumed');
      await wipe(file);
      const other = SqliteStore.open(file, { now: t0 + 1000 });
      try {
        expect(await running.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 3500, iatOf(t0 + 3000))).toBe('replayed');
        expect(lost).toHaveLength(1);
        expect(await other.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 1500, iatOf(t0 + 3000))).toBe('replayed');
        // Both now work on the same file: a new token consumed by one is replayed in the other.
        const fresh = randomUUID();
        expect(await other.consumeToken(fresh, 'dev-C', t0 + 10 * MIN, t0 + 20_000, iatOf(t0 + 20_000))).toBe('consumed');
        expect(await running.consumeToken(fresh, 'dev-D', t0 + 10 * MIN, t0 + 20_001, iatOf(t0 + 20_000))).toBe('replayed');
      } finally {
        await other.close();
      }
    } finally {
      await running.close();
    }
  });

  it('raising the replacement\'s notBefore fails once (a lock, a read-only file): that decision fails, the next retries it, and the token is never accepted', async () => {
    const file = join(dir, randomUUID(), 'store.db');
    const t0 = Date.now();
    const jti = randomUUID();
    const running = SqliteStore.open(file, { now: t0 });
    const proto = Database.prototype as unknown as { prepare: (sql: string) => unknown };
    const realPrepare = proto.prepare;
    try {
      // Its clock runs 3 s ahead of the other process's, so the token's iat is after the other's start.
      expect(await running.consumeToken(jti, 'dev-A', t0 + 10 * MIN, t0 + 3000, iatOf(t0 + 3000))).toBe('consumed');
      await wipe(file);
      // Another process recreates the file: its epoch begins at its own start, before our loss.
      await SqliteStore.open(file, { now: t0 + 1000 }).close();
      let refused = 0;
      proto.prepare = function (this: unknown, sql: string) {
        if (sql.startsWith('UPDATE epoch') && refused++ === 0) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        return realPrepare.call(this, sql);
      };
      await expect(running.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 3500, iatOf(t0 + 3000))).rejects.toBeInstanceOf(FedbridgeError);
      // The read path and the consume path both look again: the token stays refused.
      expect(await running.consumedBy(jti, t0 + 3501, iatOf(t0 + 3000))).toBe('');
      expect(await running.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 3502, iatOf(t0 + 3000))).toBe('replayed');
      expect(refused).toBe(2);
    } finally {
      proto.prepare = realPrepare;
      await running.close();
    }
  });

  it('the file deleted while running (nobody recreated it): the token is replayed and the file is back', async () => {
    const file = join(dir, randomUUID(), 'store.db');
    const t0 = Date.now();
    const jti = randomUUID();
    const store = SqliteStore.open(file, { now: t0 });
    try {
      expect(await store.consumeToken(jti, 'dev-A', t0 + 10 * MIN, t0, iatOf(t0))).toBe('consumed');
      await wipe(file);
      expect(await store.consumeToken(jti, 'dev-B', t0 + 10 * MIN, t0 + 100, iatOf(t0))).toBe('replayed');
      expect(existsSync(file)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
