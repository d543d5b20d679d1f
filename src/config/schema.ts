/**
 * The configuration file's shape (contract §2), validated once at start-up.
 * Every rule here produces a message with the path of the offending key.
 */
import { z } from 'zod';
import { secureUrl } from './urls.js';
// Each upstream kind owns its `idp` schema (src/upstreams/<kind>/config.ts); the registry composes them.
import { idpSchema } from '../upstreams/registry.js';

/** `host:port` or `[v6]:port` (Redis Sentinel and Cluster seed nodes). */
const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

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
        z
          .object({
            kind: z.literal('redis'),
            /** One server. */
            url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
            /** Sentinel: the sentinels' addresses and the monitored master's name. */
            sentinels: z.array(z.string().regex(hostPort, 'must be host:port')).min(1).optional(),
            name: z.string().min(1).optional(),
            /** Cluster: seed nodes. */
            cluster: z.array(z.string().regex(hostPort, 'must be host:port')).min(1).optional(),
            /** For sentinels/cluster (a url carries its own). */
            password: z.string().min(1).optional(),
          })
          .strict()
          .superRefine((v, ctx) => {
            const given = (['url', 'sentinels', 'cluster'] as const).filter((k) => v[k] !== undefined);
            if (given.length !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of url, sentinels (with name) or cluster' });
            if (v.sentinels && !v.name) ctx.addIssue({ code: 'custom', path: ['name'], message: "is required with sentinels (the master's name)" });
            if (v.name && !v.sentinels) ctx.addIssue({ code: 'custom', path: ['name'], message: 'only goes with sentinels' });
          }),
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
export { idpSchema };
export type { OidcIdpConfig } from '../upstreams/oidc/config.js';
export type { LocalIdpConfig } from '../upstreams/local/config.js';
