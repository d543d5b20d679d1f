import type { Store } from './types.js';

export type * from './types.js';

/** docs/operations.md: SQLite, or Redis as one server (`url`), Sentinel (`sentinels` + `name`) or Cluster (`cluster`). */
export type StoreConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'redis'; url?: string; sentinels?: string[]; name?: string; cluster?: string[]; password?: string };

export interface OpenStoreOptions {
  /** The service clock at open: a new store epoch starts then (src/store/epoch.ts). */
  now?: number;
  /** The service clock, for checks the store makes on its own (Redis: on reconnect). */
  clock?: () => number;
  /** Called when the store is found to have lost its state (logged by the service). */
  onStateLost?: (detail: string) => void;
}

/** Imports the backend lazily so a Redis deployment never loads the native SQLite addon. */
export async function openStore(cfg: StoreConfig, opts: OpenStoreOptions = {}): Promise<Store> {
  switch (cfg.kind) {
    case 'sqlite': {
      const { SqliteStore } = await import('./sqlite.js');
      return SqliteStore.open(cfg.path, opts);
    }
    case 'redis': {
      const { RedisStore } = await import('./redis.js');
      if (cfg.cluster) return RedisStore.open({ cluster: cfg.cluster, password: cfg.password }, opts);
      if (cfg.sentinels) return RedisStore.open({ sentinels: cfg.sentinels, name: cfg.name ?? 'mymaster', password: cfg.password }, opts);
      if (!cfg.url) throw new Error('store: redis needs url, sentinels or cluster');
      return RedisStore.open(cfg.url, opts);
    }
  }
}
