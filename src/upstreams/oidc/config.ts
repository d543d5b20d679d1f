/** The `oidc` kind's configuration (docs/configuration.md) and its start-up rules. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import type { KindProblem } from '../types.js';

export const oidcSchema = z
  .object({
    kind: z.literal('oidc').describe('OpenID Connect: Entra ID, AD FS 2016+, any OpenID provider (docs/oidc.md)'),
    id: z.string().optional().describe("the IdP's id in the token's idp claim (default <tenant>-oidc)"),
    issuer: secureUrl.describe('the issuer; discovery at <issuer>/.well-known/openid-configuration ({tenantid} for Entra multi-tenant)'),
    clientId: z.string().min(1).describe("Fedbridge's client (application) id at the IdP"),
    clientSecret: z.string().optional().describe('client secret (not with private_key_jwt); write it as ${ENV}'),
    tokenEndpointAuthMethod: z
      .enum(['client_secret_post', 'client_secret_basic', 'private_key_jwt'])
      .default('client_secret_basic')
      .describe('how Fedbridge authenticates at the token endpoint'),
    scopes: z.array(z.string()).default(['openid', 'profile', 'email']).describe('scopes asked for'),
    claims: z
      .object({
        upn: z.string().default('preferred_username').describe('the ID token claim holding the user name'),
        email: z.string().default('email').describe('the claim holding the email address'),
        name: z.string().default('name').describe('the claim holding the display name'),
        groups: z.string().default('groups').describe('the claim holding the groups'),
      })
      .strict()
      .default({ upn: 'preferred_username', email: 'email', name: 'name', groups: 'groups' })
      .describe('where each identity field comes from'),
    /** Entra multi-tenant: the tids allowed when the issuer has a {tenantid} template. */
    allowedTenantIds: z.array(z.string()).default([]).describe('Entra tenant ids accepted from a multi-tenant issuer (required there)'),
    domainHint: z.string().optional().describe('domain_hint sent to the IdP'),
    prompt: z.string().optional().describe('prompt sent to the IdP (e.g. login, select_account)'),
    responseMode: z.enum(['query', 'form_post']).default('query').describe('how the IdP returns to /callback/oidc'),
    acrValues: z.string().optional().describe('acr_values sent to the IdP'),
    /** An acr value that counts as MFA when amr does not say so. */
    mfaAcr: z.string().optional().describe('an acr value that counts as MFA when amr does not say so'),
    // Below the server's 30 s no-traffic limit (README), so a slow IdP still ends in a 504 page.
    timeoutMs: z.number().int().positive().max(25_000).default(10_000).describe('deadline of each call to the IdP'),
  })
  .strict();

export type OidcIdpConfig = z.infer<typeof oidcSchema>;

/**
 * Entra's multi-tenant issuers: the `{tenantid}` template, or the `organizations`/`common`
 * discovery paths that advertise it. Each needs an explicit list of accepted tenant ids.
 */
export function isMultiTenantIssuer(issuer: string): boolean {
  if (issuer.includes('{tenantid}')) return true;
  try {
    return /^\/(organizations|common|consumers)(\/|$)/i.test(new URL(issuer).pathname);
  } catch {
    return false;
  }
}

export function oidcRules(cfg: OidcIdpConfig): KindProblem[] {
  const problems: KindProblem[] = [];
  if (cfg.tokenEndpointAuthMethod !== 'private_key_jwt' && !cfg.clientSecret) {
    problems.push({ path: 'idp.clientSecret', message: `required for ${cfg.tokenEndpointAuthMethod}` });
  }
  if (isMultiTenantIssuer(cfg.issuer) && cfg.allowedTenantIds.length === 0) {
    problems.push({
      path: 'idp.allowedTenantIds',
      message: 'a multi-tenant issuer needs the list of Entra tenant ids to accept (accepting any tenant is unsafe)',
    });
  }
  return problems;
}
