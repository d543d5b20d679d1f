/**
 * A fresh redis-server and services started on it, for the enclosing describe block (or the whole
 * file): started before its tests, the services closed and then Redis stopped after them
 * (docs/operations.md, the Redis store). Read the getters inside tests and hooks only.
 */
import { afterAll, beforeAll } from 'vitest';
import { enrollmentConfig } from './enrollment.js';
import { startRedis, type TestRedis } from './redis.js';
import { startService, type TestService } from './service.js';

interface Closable {
  close(): unknown;
}

function onRedis<S extends Closable>(count: number, start: (redisUrl: string) => Promise<S>) {
  let redis: TestRedis | undefined;
  const svcs: S[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < count; i++) svcs.push(await start(redis.url));
  }, 60_000);
  afterAll(async () => {
    for (const s of svcs) await s.close();
    await redis?.stop();
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started yet (read it inside a test)`);
    return v;
  };
  return { redis: () => ready(redis, 'Redis'), svc: (i: number) => ready(svcs[i], `service ${i}`) };
}

/** One enrollment service (test/helpers/enrollment.ts) whose store is a fresh Redis. */
export function useServiceOnRedis(): { readonly redis: TestRedis; readonly svc: TestService } {
  const on = onRedis(1, (url) => startService({ file: enrollmentConfig({ extra: { store: { kind: 'redis', url } } }) }));
  return {
    get redis() {
      return on.redis();
    },
    get svc() {
      return on.svc(0);
    },
  };
}

/** Two instances, `a` and `b`, sharing one fresh Redis; `start` runs once for each. */
export function useTwoOnRedis<S extends Closable>(start: (redisUrl: string) => Promise<S>): { readonly redis: TestRedis; readonly a: S; readonly b: S } {
  const on = onRedis(2, start);
  return {
    get redis() {
      return on.redis();
    },
    get a() {
      return on.svc(0);
    },
    get b() {
      return on.svc(1);
    },
  };
}
