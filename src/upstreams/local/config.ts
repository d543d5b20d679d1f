/** The `local` kind's configuration (docs/configuration.md): users with scrypt hashes in the config file. */
import { z } from 'zod';
import { isPasswordHash } from './password.js';

/** A complete hash as `fedbridge user hash-password` prints it (the rules live in password.ts). */
export const isCompletePasswordHash = isPasswordHash;

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
