/**
 * The tenant directory (docs/admin-api.md, docs/operations.md "Hot reload"): the one place request
 * handlers get tenants and their upstreams from. It merges the config file's tenants (read-only
 * at runtime; replaced by a reload of the file) with tenants created through the admin API (kept
 * in the store, picked up by every instance sharing it within seconds), and swaps whole
 * snapshots so a request never sees half a change.
 */
import type { Config } from '../config/load.js';
import type { TenantConfig } from '../config/schema.js';
import type { TenantLogo } from '../store/types.js';
import type { Upstream } from '../upstreams/types.js';

export type TenantSource = 'file' | 'store';

export interface TenantEntry {
  config: TenantConfig;
  source: TenantSource;
  /** Store tenants only: 1 on create, +1 per replace. */
  version?: number;
  updatedAt?: number;
}

/** One immutable view of every tenant and its upstream. Take it once per request. */
export interface Snapshot {
  /** The whole effective configuration: `config.tenants` is file tenants then store tenants. */
  readonly config: Config;
  readonly tenants: ReadonlyMap<string, TenantEntry>;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Increases with every swap (a reload or a store change). */
  readonly generation: number;
}

/**
 * Failures of the write methods are FedbridgeErrors: 400 invalid_request listing every field
 * problem with its path, 404 unknown_tenant, 409 conflict (id or domain taken, or a config-file
 * tenant changed through the API), 412 precondition_failed (an `ifVersion` that is not the stored one).
 */
export interface TenantDirectory {
  current(): Snapshot;
  /** As written, with every secret removed (client secrets, passwords hashes stay out too). */
  publicDoc(id: string): Record<string, unknown> | null;
  create(doc: unknown, now: number): Promise<TenantEntry>;
  /** With `ifVersion` (If-Match), only while the stored version is that one, else 412 precondition_failed. */
  replace(id: string, doc: unknown, now: number, ifVersion?: number): Promise<TenantEntry>;
  remove(id: string, ifVersion?: number): Promise<void>;
  setLogo(id: string, contentType: string, bytes: Buffer): Promise<TenantLogo>;
  getLogo(id: string): Promise<TenantLogo | null>;
  /** Re-reads the config file: validated first; a bad file is refused (every problem logged) and the running config stays. */
  reloadFile(): Promise<{ ok: true } | { ok: false; problems: string[] }>;
  /** Looks at the store's tenants revision now (the poller does this every second). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}
