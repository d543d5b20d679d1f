/** The store through Redis Sentinel (docs/operations.md "Choosing a store": `{ kind: redis, sentinels, name }`). */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis.js';
import { startRedisSentinel, type TestRedisSentinel } from '../helpers/redis.js';
import { runStoreConformance } from './conformance.js';

let sentinel: TestRedisSentinel;
beforeAll(async () => {
  sentinel = await startRedisSentinel();
}, 30_000);
afterAll(async () => {
  await sentinel?.stop();
});

runStoreConformance('redis sentinel', () =>
  RedisStore.open({ sentinels: sentinel.sentinels, name: sentinel.name }, { keyPrefix: `conf-${randomUUID()}:` }),
);

describe('RedisStore through Sentinel', () => {
  it('finds the master by name (the data lands on it) and fails closed after it forgets', async () => {
    const store = await openStore({ kind: 'redis', sentinels: sentinel.sentinels, name: sentinel.name });
    const raw = new Redis(sentinel.master.url);
    try {
      const now = Date.now();
      const jti = randomUUID();
      expect(await store.consumeToken(jti, 'dev-A', now + 600_000, now, Math.floor(now / 1000) * 1000)).toBe('consumed');
      expect((await raw.keys(`fedbridge:jti:*${jti}`)).length).toBe(1);
      await raw.flushall();
      expect(await store.consumeToken(jti, 'dev-B', now + 600_000, now + 1000, Math.floor(now / 1000) * 1000)).toBe('replayed');
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('an unknown master name is refused at open, clearly', async () => {
    await expect(RedisStore.open({ sentinels: sentinel.sentinels, name: 'no-such-master' })).rejects.toThrow(
      /Redis unreachable at Sentinel 127\.0\.0\.1:\d+ \(master no-such-master\)/,
    );
  }, 20_000);
});
