/** The `wsfed` kind's configuration (docs/configuration.md): WS-Federation passive, as AD FS `/adfs/ls/`. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';

export const wsfedSchema = z
  .object({
    kind: z.literal('wsfed').describe('WS-Federation passive, AD FS /adfs/ls/ (docs/adfs.md)'),
    id: z.string().optional().describe("the IdP's id in the token's idp claim (default <tenant>-wsfed)"),
    /** Federation metadata: signing certificates of the STS role, and the passive endpoint. */
    metadataUrl: secureUrl.describe('federation metadata: signing certificates of the STS role and the passive endpoint'),
    /** The passive endpoint, when metadata's `fed:PassiveRequestorEndpoint` should not be used. */
    endpoint: secureUrl.optional().describe("the passive endpoint (default: the metadata's PassiveRequestorEndpoint)"),
    /** The `wtrealm` (audience of the assertion); default `<publicUrl>/wsfed/<tenant>`. */
    realm: z.string().min(1).optional().describe('the wtrealm, audience of the assertion (default <publicUrl>/wsfed/<tenant>)'),
    /** Asks the IdP for a fresh sign-in (`wfresh=0`), so an SSO session of another user is not reused. */
    forceAuthn: z.boolean().default(false).describe('ask for a fresh sign-in (wfresh=0)'),
    clockSkewSeconds: clockSkewSchema.describe('tolerance on NotBefore/NotOnOrAfter'),
    claims: assertionClaimsSchema.describe('attribute names for upn, email, name, groups (default: the AD FS claim URIs; upn falls back to the NameID)'),
    timeoutMs: timeoutSchema.describe('deadline of each call to the IdP'),
  })
  .strict();

export type WsfedIdpConfig = z.infer<typeof wsfedSchema>;
