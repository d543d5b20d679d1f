/** The `local` kind's configuration (docs/configuration.md): users with scrypt hashes in the config file. */
import { z } from 'zod';
import { isPasswordHash } from './password.js';

/** scrypt's own memory bound (128·r·(N+2+p) bytes) must fit the 64 MiB that password.ts gives it. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * A complete hash as `fedbridge user hash-password` prints it (docs/configuration.md): the shape that
 * isPasswordHash accepts, plus what scrypt would refuse at sign-in time (N a power of two,
 * memory within the limit) and what a cut-off copy lacks (a 16-byte salt, a 32-byte key).
 */
export function isCompletePasswordHash(hash: string): boolean {
  if (!isPasswordHash(hash)) return false;
  const [, n, r, p, salt, key] = hash.split('$');
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (N < 2 || (N & (N - 1)) !== 0 || P > 16 || 128 * R * (N + 2 + P) > SCRYPT_MAXMEM) return false;
  if (!BASE64URL.test(salt) || !BASE64URL.test(key)) return false;
  return Buffer.from(salt, 'base64url').length >= 16 && Buffer.from(key, 'base64url').length >= 32;
}

export const localSchema = z
  .object({
    kind: z.literal('local').describe('users listed in this file; the password page is Fedbridge\'s own (demos, labs)'),
    id: z.string().optional().describe("the IdP's id in the token's idp claim (default <tenant>-local)"),
    users: z
      .array(
        z
          .object({
            upn: z.string().min(3).describe('the user name typed on the page and put in the token'),
            name: z.string().optional().describe("the token's name"),
            email: z.string().optional().describe("the token's email (default the upn)"),
            passwordHash: z
              .string()
              .refine(isCompletePasswordHash, 'must be a complete hash from `fedbridge user hash-password` (scrypt$N$r$p$salt$key)')
              .describe('scrypt hash, exactly as `fedbridge user hash-password` prints it'),
            groups: z.array(z.string()).default([]).describe("the user's groups (policy.allowedGroups)"),
          })
          .strict(),
      )
      .min(1, 'a local IdP needs at least one user')
      .describe('the users'),
  })
  .strict();

export type LocalIdpConfig = z.infer<typeof localSchema>;
