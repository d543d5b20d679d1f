/** The `claims` key shared by the assertion kinds (saml, wsfed, wstrust; docs/configuration.md). */
import { z } from 'zod';

/**
 * Attribute names (claim URIs) for each identity field. Unset fields use the AD FS claim
 * URIs (docs/assertions.md), and `upn` falls back to the NameID.
 */
export const assertionClaimsSchema = z
  .object({
    upn: z.string().min(1).optional().describe('the attribute holding the user name (default: the AD FS UPN claim, then the NameID)'),
    email: z.string().min(1).optional().describe('the attribute holding the email address'),
    name: z.string().min(1).optional().describe('the attribute holding the display name'),
    groups: z.string().min(1).optional().describe('the attribute holding the groups'),
  })
  .strict()
  .default({});

/** docs/configuration.md: NotBefore/NotOnOrAfter are accepted within this skew. */
export const clockSkewSchema = z.number().int().min(0).max(600).default(180);

/** docs/configuration.md: every upstream call has this deadline. */
// Below the server's 30 s no-traffic limit (README, Timeouts), so a slow IdP still ends in a 504 page.
export const timeoutSchema = z.number().int().positive().max(25_000).default(10_000);
