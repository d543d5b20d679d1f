/**
 * The store cannot be reached (Redis down, failing over or loading; SQLite locked or failing
 * I/O): a 503 with `Retry-After` — a branded page for people, JSON for machines — never a
 * generic 500 (docs/operations.md).
 */
import { serviceUnavailable, type FedbridgeError } from '../errors.js';

/** Seconds a client should wait before retrying while the store is unreachable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

export function storeUnavailable(cause: unknown): FedbridgeError {
  const err = serviceUnavailable('store_unavailable', 'the store is unreachable', STORE_RETRY_AFTER_SECONDS);
  (err as Error).cause = cause;
  return err;
}
