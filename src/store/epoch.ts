/**
 * Store epochs: how a store that forgot its state still fails closed (docs/operations.md,
 * docs/operations.md "When the store forgets").
 *
 * Every store holds an epoch record written when its state began: an `id` and `notBefore`
 * (epoch ms). A replay decision (consumeToken, consumedBy) that is told when the token was
 * issued answers `replayed` for any token issued before `notBefore`: such a token may have been
 * consumed in state the store no longer has. The record is written
 *  - when the store is opened and has none (a new store, or one that lost everything while no
 *    instance was running): notBefore = the start of the current second (iat has whole seconds);
 *  - when a running instance finds it missing, or replaced by another one (the store lost its
 *    state under it): notBefore = now + LOSS_SKEW_MS, so a token issued just before the loss by
 *    an instance whose clock runs ahead is refused too.
 */
import { randomUUID } from 'node:crypto';

/** Clock difference tolerated between instances (docs/enrollment-server.md allows 5 s on iat/nbf). */
export const LOSS_SKEW_MS = 5_000;

/** notBefore of an epoch created at open: tokens issued from this second on are accepted. */
export const genesisNotBefore = (now: number) => Math.floor(now / 1000) * 1000;
/** notBefore of an epoch created because the store lost its state. */
export const lossNotBefore = (now: number) => now + LOSS_SKEW_MS;

export const newEpochId = () => randomUUID();

/**
 * Redis Cluster spreads keys over masters by hash slot, and one master can lose its slots
 * alone. Consumed markers are therefore split into groups, each with its own epoch in the same
 * hash slot (hash tag `{m<n>}`), so a Lua script touches one slot and a loss is seen per group.
 */
export const EPOCH_GROUPS = 16;

/** FNV-1a of the marker key, modulo EPOCH_GROUPS. */
export function epochGroup(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % EPOCH_GROUPS;
}
