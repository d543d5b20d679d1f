/** The `saml` kind's configuration (contract §2): SAML 2.0 Web SSO, SP side. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import { assertionClaimsSchema, clockSkewSchema, timeoutSchema } from '../claims.js';
import type { KindProblem } from '../types.js';

export const samlSchema = z
  .object({
    kind: z.literal('saml'),
    id: z.string().optional(),
    /** IdP metadata, fetched and refreshed; or `metadataFile`. */
    metadataUrl: secureUrl.optional(),
    metadataFile: z.string().min(1).optional(),
    /** This SP's entity ID; default `<publicUrl>/saml/<tenant>`. */
    entityId: z.string().min(1).optional(),
    wantEncryptedAssertions: z.boolean().default(false),
    signAuthnRequests: z.boolean().default(false),
    spKeyFile: z.string().min(1).optional(),
    spCertFile: z.string().min(1).optional(),
    /** Asks the IdP to authenticate again rather than reuse its session. */
    forceAuthn: z.boolean().default(false),
    clockSkewSeconds: clockSkewSchema,
    claims: assertionClaimsSchema,
    timeoutMs: timeoutSchema,
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
