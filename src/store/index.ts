import type { Store } from './types.js';

export type * from './types.js';

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

/** Imports the backend lazily so a Redis deployment never loads the native SQLite addon. */
export async function openStore(cfg: StoreConfig): Promise<Store> {
  switch (cfg.kind) {
    case 'sqlite': {
      const { SqliteStore } = await import('./sqlite.js');
      return SqliteStore.open(cfg.path);
    }
    case 'redis': {
      const { RedisStore } = await import('./redis.js');
      return RedisStore.open(cfg.url);
    }
  }
}
