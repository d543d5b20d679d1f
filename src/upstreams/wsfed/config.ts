/** The `wsfed` kind's configuration (contract §2): WS-Federation passive, as AD FS `/adfs/ls/`. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';

export const wsfedSchema = z
  .object({
    kind: z.literal('wsfed'),
    id: z.string().optional(),
    /** Federation metadata: signing certificates of the STS role, and the passive endpoint. */
    metadataUrl: secureUrl,
    /** The passive endpoint, when metadata's `fed:PassiveRequestorEndpoint` should not be used. */
    endpoint: secureUrl.optional(),
    /** The `wtrealm` (audience of the assertion); default `<publicUrl>/wsfed/<tenant>`. */
    realm: z.string().min(1).optional(),
    /** Asks the IdP for a fresh sign-in (`wfresh=0`), so an SSO session of another user is not reused. */
    forceAuthn: z.boolean().default(false),
    clockSkewSeconds: clockSkewSchema,
    claims: assertionClaimsSchema,
    timeoutMs: timeoutSchema,
  })
  .strict();

export type WsfedIdpConfig = z.infer<typeof wsfedSchema>;
