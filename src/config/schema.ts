/**
 * The configuration file's shape (contract §2), validated once at start-up.
 * Every rule here produces a message with the path of the offending key.
 */
import { z } from 'zod';
import { checkSecureUrl } from './urls.js';

const secureUrl = z.string().superRefine((v, ctx) => {
  const problem = checkSecureUrl(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const branding = z
  .object({
    logoUrl: z.string().optional(),
    primaryColor: z
      .string()
      .regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/, 'must be a hex colour like #0067b8')
      .optional(),
    supportEmail: z.string().email().optional(),
    supportUrl: secureUrl.optional(),
    signInText: z.string().max(500).optional(),
  })
  .strict();

const policy = z
  .object({
    requireMfa: z.boolean().default(false),
    allowedGroups: z.array(z.string()).default([]),
    requireHintMatch: z.boolean().default(true),
    requireInvitation: z.boolean().default(false),
    /** Off by default: the signed-in UPN's domain must be one of the tenant's domains (contract §2). */
    allowForeignDomains: z.boolean().default(false),
  })
  .strict();

const localIdp = z
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

const oidcIdp = z
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
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

const samlIdp = z
  .object({
    kind: z.literal('saml'),
    id: z.string().optional(),
    metadataUrl: secureUrl.optional(),
    metadataFile: z.string().optional(),
    entityId: z.string().optional(),
    wantEncryptedAssertions: z.boolean().default(false),
    clockSkewSeconds: z.number().int().min(0).max(600).default(180),
  })
  .strict();

const wsfedIdp = z
  .object({ kind: z.literal('wsfed'), id: z.string().optional(), metadataUrl: secureUrl, realm: z.string().min(1) })
  .strict();

const wstrustIdp = z
  .object({ kind: z.literal('wstrust'), id: z.string().optional(), endpoint: secureUrl, appliesTo: z.string().min(1) })
  .strict();

export const idpSchema = z.discriminatedUnion('kind', [localIdp, oidcIdp, samlIdp, wsfedIdp, wstrustIdp]);

const tenant = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes'),
    displayName: z.string().min(1),
    domains: z.array(z.string().toLowerCase().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'is not a domain name')).min(1),
    audience: z.string().min(1).optional(),
    branding: branding.default({}),
    policy: policy.default({ requireMfa: false, allowedGroups: [], requireHintMatch: true, requireInvitation: false, allowForeignDomains: false }),
    idp: idpSchema,
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        publicUrl: secureUrl.refine((v) => !v.endsWith('/'), 'must not end with a slash').optional(),
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().optional(),
        trustProxy: z.boolean().default(false),
      })
      .strict()
      .default({ trustProxy: false }),
    store: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('sqlite'), path: z.string().default('./data/fedbridge.db') }).strict(),
        z.object({ kind: z.literal('redis'), url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL') }).strict(),
      ])
      .default({ kind: 'sqlite', path: './data/fedbridge.db' }),
    keys: z
      .object({
        dir: z.string().default('./keys'),
        algorithm: z.enum(['ES256', 'RS256', 'PS256', 'EdDSA']).default('ES256'),
        /** JWKS Cache-Control max-age; a rotated-in key signs only after it. */
        jwksMaxAgeSeconds: z.number().int().min(0).max(86_400).default(300),
      })
      .strict()
      .default({ dir: './keys', algorithm: 'ES256', jwksMaxAgeSeconds: 300 }),
    tokens: z
      .object({
        ttlSeconds: z.number().int().min(30).max(3600).default(600),
        audience: z.string().min(1).default('urn:fedbridge:mdm'),
      })
      .strict()
      .default({ ttlSeconds: 600, audience: 'urn:fedbridge:mdm' }),
    appru: z
      .object({
        schemes: z.array(z.literal('ms-app:')).default(['ms-app:']),
        allow: z.array(secureUrl).default([]),
      })
      .strict()
      .default({ schemes: ['ms-app:'], allow: [] }),
    enrollmentServers: z
      .array(
        z
          .object({
            id: z.string().min(1),
            secret: z.string().min(1),
            tenants: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .default([]),
    admin: z.object({ token: z.string().min(16, 'must be at least 16 characters') }).strict().optional(),
    metrics: z.object({ token: z.string().min(16).optional() }).strict().default({}),
    limits: z
      .object({
        passwordPerUser: z.number().int().min(0).default(10),
        passwordPerIp: z.number().int().min(0).default(30),
        authPerIp: z.number().int().min(0).default(600),
        /** Days an address where a user signed in successfully keeps its own password budget (smart lockout). */
        familiarDays: z.number().int().min(0).max(365).default(30),
      })
      .strict()
      .default({ passwordPerUser: 10, passwordPerIp: 30, authPerIp: 600, familiarDays: 30 }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    discovery: z
      .object({
        enrollmentServiceUrl: secureUrl,
        enrollmentPolicyServiceUrl: secureUrl,
        enrollmentVersion: z.string().regex(/^\d+\.\d+$/).optional(),
      })
      .strict()
      .optional(),
    tenants: z.array(tenant).default([]),
  })
  .strict();

export { tenant as tenantSchema };
export type ConfigFile = z.infer<typeof configSchema>;
export type TenantConfig = z.infer<typeof tenant>;
export type IdpConfig = z.infer<typeof idpSchema>;
export type OidcIdpConfig = z.infer<typeof oidcIdp>;
export type LocalIdpConfig = z.infer<typeof localIdp>;
