/**
 * The store on a real 3-master Redis Cluster (docs/operations.md "Choosing a store"): the whole conformance suite, and
 * the fail-closed epoch when one master forgets (its slots only).
 */
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis.js';
import { EPOCH_GROUPS } from '../../src/store/epoch.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis.js';
import { runStoreConformance } from './conformance.js';

let cluster: TestRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

runStoreConformance('redis cluster', () => RedisStore.open({ cluster: cluster.nodes }, { keyPrefix: `conf-${randomUUID()}:` }));

describe('RedisStore on a Cluster', () => {
  it('opens from the config shape, spreads the epoch groups over every master, and fails closed after FLUSHALL', async () => {
    const store = await openStore({ kind: 'redis', cluster: cluster.nodes });
    const raw = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })));
    try {
      await new Promise((resolve) => raw.once('ready', resolve));
      expect(raw.nodes('master')).toHaveLength(3);
      // Every group's epoch lives on some master; with 16 groups, every master holds some.
      const perMaster = await Promise.all(raw.nodes('master').map((n) => n.keys('fedbridge:epoch:*')));
      expect(perMaster.flat()).toHaveLength(EPOCH_GROUPS);
      expect(perMaster.every((keys) => keys.length > 0)).toBe(true);

      const now = Date.now();
      const iat = Math.floor(now / 1000) * 1000; // a JWT's iat has whole seconds
      const jtis = Array.from({ length: 20 }, () => randomUUID());
      for (const jti of jtis) expect(await store.consumeToken(jti, 'dev-A', now + 600_000, now, iat)).toBe('consumed');
      // Every master restarted empty (here: flushed), each with its own slots.
      await Promise.all(raw.nodes('master').map((n) => n.flushall()));
      const later = now + 1000;
      const again = await Promise.all(jtis.map((jti) => store.consumeToken(jti, 'dev-B', now + 600_000, later, iat)));
      expect(again).toEqual(jtis.map(() => 'replayed'));
      // A token issued after the loss (and the clock-skew margin) is consumed as usual.
      expect(await store.consumeToken(randomUUID(), 'dev-C', later + 600_000, later + 6000, later + 5500)).toBe('consumed');
      expect(await store.durabilityWarnings()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Redis \(127\.0\.0\.1:\d+\) has persistence off/)]),
      );
    } finally {
      raw.disconnect();
      await store.close();
    }
  });
});
