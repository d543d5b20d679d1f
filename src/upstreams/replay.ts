/**
 * One-time assertion ids for the assertion kinds (docs/assertions.md: each assertion ID accepted once,
 * in the store, so it holds across instances). The store's consumed-token markers hold them
 * under a key scoped by kind and tenant (whose IdP alone can sign them), hashed so that an id
 * can never collide with a token's jti.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../store/types.js';

export function assertionReplayCache(store: Store, scope: string, now: () => number) {
  return async (id: string, expiresAt: number): Promise<boolean> => {
    const key = 'assertion:' + createHash('sha256').update(`${scope}\n${id}`).digest('base64url');
    return (await store.consumeToken(key, '', expiresAt, now())) !== 'consumed';
  };
}
