/** The `wstrust` kind's configuration (contract §2): WS-Trust 1.3 active sign-in (`usernamemixed`). */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';

export const wstrustSchema = z
  .object({
    kind: z.literal('wstrust'),
    id: z.string().optional(),
    /** AD FS `/adfs/services/trust/13/usernamemixed`. */
    endpoint: secureUrl,
    /** The relying party identifier: the RST's AppliesTo and the assertion's audience. */
    appliesTo: z.string().min(1),
    /** Federation metadata: the certificates the returned assertion must verify against (TLS alone is not trust). */
    metadataUrl: secureUrl,
    clockSkewSeconds: clockSkewSchema,
    claims: assertionClaimsSchema,
    timeoutMs: timeoutSchema,
  })
  .strict();

export type WstrustIdpConfig = z.infer<typeof wstrustSchema>;
