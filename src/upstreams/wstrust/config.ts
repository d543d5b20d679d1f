/** The `wstrust` kind's configuration (docs/configuration.md): WS-Trust 1.3 active sign-in (`usernamemixed`). */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';

export const wstrustSchema = z
  .object({
    kind: z.literal('wstrust').describe("WS-Trust 1.3 usernamemixed at AD FS; the password page is Fedbridge's own (docs/adfs.md)"),
    id: z.string().optional().describe("the IdP's id in the token's idp claim (default <tenant>-wstrust)"),
    /** AD FS `/adfs/services/trust/13/usernamemixed`. */
    endpoint: secureUrl.describe('the STS endpoint, AD FS /adfs/services/trust/13/usernamemixed'),
    /** The relying party identifier: the RST's AppliesTo and the assertion's audience. */
    appliesTo: z.string().min(1).describe("the relying party identifier: the request's AppliesTo and the assertion's audience"),
    /** Federation metadata: the certificates the returned assertion must verify against (TLS alone is not trust). */
    metadataUrl: secureUrl.describe('federation metadata: the certificates the returned assertion must verify against'),
    clockSkewSeconds: clockSkewSchema.describe('tolerance on NotBefore/NotOnOrAfter'),
    claims: assertionClaimsSchema.describe('attribute names for upn, email, name, groups (default: the AD FS claim URIs; upn falls back to the NameID)'),
    timeoutMs: timeoutSchema.describe('deadline of each call to the IdP'),
  })
  .strict();

export type WstrustIdpConfig = z.infer<typeof wstrustSchema>;
