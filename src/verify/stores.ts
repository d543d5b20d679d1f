/**
 * Ready-made replay stores for fedbridge/verify: the SQLite and Redis stores Fedbridge itself
 * uses (one-time consumption is atomic in both, also across processes). Each is loaded on first
 * call only, so importing fedbridge/verify stays free of SQLite and Redis.
 */
import type { ReplayStore } from './check.js';

export interface ClosableReplayStore extends ReplayStore {
  close(): Promise<void>;
}

/** A SQLite file (created if missing) shared by every process of your enrollment server on one host. */
export async function sqliteReplayStore(path: string): Promise<ClosableReplayStore> {
  const { SqliteStore } = await import('../store/sqlite.js');
  return SqliteStore.open(path);
}

/** A Redis server (redis://host:port) shared by every instance of your enrollment server. */
export async function redisReplayStore(url: string): Promise<ClosableReplayStore> {
  const { RedisStore } = await import('../store/redis.js');
  return RedisStore.open(url);
}
