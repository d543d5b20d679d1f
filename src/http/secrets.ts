/**
 * Comparing presented secrets (client secrets, admin and metrics tokens) in constant time.
 * Hashing first makes the comparison constant-time whatever the lengths; these secrets are
 * random high-entropy values, so a fast hash is right (no slow KDF on the hot path).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const secretDigest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function sameDigest(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b);
}

export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(secretDigest(given), secretDigest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
}
