/**
 * Invitations behind `ms-device-enrollment:` deep links. The accesstoken handed out is
 * a random secret; the store keeps only its hash as the invitation id, and the token's
 * `inv` claim carries that id, so the accesstoken itself is never stored or minted.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Invitation, Store } from '../store/types.js';
import { badRequest, forbidden } from '../errors.js';
import { sameUser } from '../config/domains.js';

export function invitationIdFor(accesstoken: string): string {
  return createHash('sha256').update(accesstoken).digest('base64url').slice(0, 32);
}

export interface NewInvitation {
  tenantId: string;
  upn: string;
  ownership?: number | null;
  ttlSeconds: number;
  now: number;
}

export async function createInvitation(store: Store, input: NewInvitation): Promise<{ accesstoken: string; invitation: Invitation }> {
  const accesstoken = randomBytes(32).toString('base64url');
  const invitation: Invitation = {
    id: invitationIdFor(accesstoken),
    tenantId: input.tenantId,
    upn: input.upn,
    ownership: input.ownership ?? null,
    createdAt: input.now,
    expiresAt: input.now + input.ttlSeconds * 1000,
    usedAt: null,
  };
  await store.putInvitation(invitation);
  return { accesstoken, invitation };
}

/**
 * Checks an invitation when the window opens. The Windows client may resend a cached
 * accesstoken, so expired and used ones get their own clear message.
 */
export async function checkInvitation(store: Store, accesstoken: string, loginHint: string | null, now: number): Promise<Invitation> {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(accesstoken)) throw badRequest('invitation_invalid', 'malformed accesstoken');
  const id = invitationIdFor(accesstoken);
  // Read with now=0 so that an expired invitation is still found and reported as expired.
  const inv = await store.getInvitation(id, 0);
  if (!inv) throw badRequest('invitation_invalid', 'unknown invitation');
  if (inv.usedAt !== null) throw badRequest('invitation_used', 'invitation already used');
  if (inv.expiresAt <= now) throw badRequest('invitation_expired', 'invitation expired');
  if (loginHint && !sameUser(loginHint, inv.upn)) {
    throw forbidden('invitation_other_user', 'invitation is for another user');
  }
  return inv;
}
