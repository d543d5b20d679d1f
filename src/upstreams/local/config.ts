/** The `local` kind's configuration (contract §2): users with scrypt hashes in the config file. */
import { z } from 'zod';

export const localSchema = z
  .object({
    kind: z.literal('local'),
    id: z.string().optional(),
    users: z
      .array(
        z
          .object({
            upn: z.string().min(3),
            name: z.string().optional(),
            email: z.string().optional(),
            passwordHash: z.string().regex(/^scrypt\$/, 'must be a hash from `fedbridge user hash-password`'),
            groups: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .min(1, 'a local IdP needs at least one user'),
  })
  .strict();

export type LocalIdpConfig = z.infer<typeof localSchema>;
