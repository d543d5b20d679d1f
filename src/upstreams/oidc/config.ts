/** The `oidc` kind's configuration (contract §2) and its start-up rules. */
import { z } from 'zod';
import { secureUrl } from '../../config/urls.js';
import type { KindProblem } from '../types.js';

export const oidcSchema = z
  .object({
    kind: z.literal('oidc'),
    id: z.string().optional(),
    issuer: secureUrl,
    clientId: z.string().min(1),
    clientSecret: z.string().optional(),
    tokenEndpointAuthMethod: z
      .enum(['client_secret_post', 'client_secret_basic', 'private_key_jwt'])
      .default('client_secret_basic'),
    scopes: z.array(z.string()).default(['openid', 'profile', 'email']),
    claims: z
      .object({
        upn: z.string().default('preferred_username'),
        email: z.string().default('email'),
        name: z.string().default('name'),
        groups: z.string().default('groups'),
      })
      .strict()
      .default({ upn: 'preferred_username', email: 'email', name: 'name', groups: 'groups' }),
    /** Entra multi-tenant: the tids allowed when the issuer has a {tenantid} template. */
    allowedTenantIds: z.array(z.string()).default([]),
    domainHint: z.string().optional(),
    prompt: z.string().optional(),
    responseMode: z.enum(['query', 'form_post']).default('query'),
    acrValues: z.string().optional(),
    /** An acr value that counts as MFA when amr does not say so. */
    mfaAcr: z.string().optional(),
    // Below the server's 30 s no-traffic limit (README), so a slow IdP still ends in a 504 page.
    timeoutMs: z.number().int().positive().max(25_000).default(10_000),
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
