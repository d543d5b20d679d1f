/** The `saml` kind's configuration (docs/configuration.md): SAML 2.0 Web SSO, SP side. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';
import type { KindProblem } from '../types.js';

export const samlSchema = z
  .object({
    kind: z.literal('saml').describe('SAML 2.0 Web SSO (AD FS, Shibboleth, Okta, SimpleSAMLphp; docs/adfs.md)'),
    id: z.string().optional().describe("the IdP's id in the token's idp claim (default <tenant>-saml)"),
    /** IdP metadata, fetched and refreshed; or `metadataFile`. */
    metadataUrl: secureUrl.optional().describe('IdP metadata, fetched and refreshed (or metadataFile)'),
    metadataFile: z.string().min(1).optional().describe('IdP metadata from a file (or metadataUrl)'),
    /** This SP's entity ID; default `<publicUrl>/saml/<tenant>`. */
    entityId: z.string().min(1).optional().describe("this SP's entity ID (default <publicUrl>/saml/<tenant>)"),
    wantEncryptedAssertions: z.boolean().default(false).describe('ask for encrypted assertions (to the SP certificate)'),
    signAuthnRequests: z.boolean().default(false).describe('sign the AuthnRequests'),
    spKeyFile: z.string().min(1).optional().describe("the SP's RSA private key (default: generated in keys.dir)"),
    spCertFile: z.string().min(1).optional().describe("the SP's certificate, with spKeyFile"),
    /** Asks the IdP to authenticate again rather than reuse its session. */
    forceAuthn: z.boolean().default(false).describe('ask the IdP to authenticate again rather than reuse its session'),
    clockSkewSeconds: clockSkewSchema.describe('tolerance on NotBefore/NotOnOrAfter'),
    claims: assertionClaimsSchema.describe('attribute names for upn, email, name, groups (default: the AD FS claim URIs; upn falls back to the NameID)'),
    timeoutMs: timeoutSchema.describe('deadline of each call to the IdP'),
  })
  .strict();

export type SamlIdpConfig = z.infer<typeof samlSchema>;

export function samlRules(cfg: SamlIdpConfig): KindProblem[] {
  const problems: KindProblem[] = [];
  if (!cfg.metadataUrl && !cfg.metadataFile) problems.push({ path: 'idp', message: 'a saml IdP needs metadataUrl or metadataFile' });
  if (cfg.metadataUrl && cfg.metadataFile) problems.push({ path: 'idp.metadataFile', message: 'give metadataUrl or metadataFile, not both' });
  if (!cfg.spKeyFile !== !cfg.spCertFile) problems.push({ path: 'idp.spKeyFile', message: 'spKeyFile and spCertFile go together' });
  return problems;
}
