/**
 * The configuration file's shape (docs/configuration.md), validated once at start-up.
 * Every rule here produces a message with the path of the offending key.
 */
import { z } from 'zod';
import { secureUrl } from './urls.js';
import { LOCALES, messageCatalog, placeholdersOf, type StringOverride } from '../http/i18n.js';
// Each upstream kind owns its `idp` schema (src/upstreams/<kind>/config.ts); the registry composes them.
import { idpSchema } from '../upstreams/registry.js';

/** `host:port` or `[v6]:port` (Redis Sentinel and Cluster seed nodes). */
const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

const branding = z
  .object({
    logoUrl: secureUrl
      .optional()
      .describe('https:// address of the logo shown on the pages when none was uploaded through the admin API (docs/branding.md)'),
    primaryColor: z
      .string()
      .regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/, 'must be a hex colour like #0067b8')
      .optional()
      .describe('accent colour of buttons and links, as #rgb or #rrggbb'),
    supportEmail: z.string().email().optional().describe('address shown to people who need help signing in'),
    supportUrl: secureUrl.optional().describe('help page linked from the sign-in pages (https://)'),
    privacyUrl: secureUrl.optional().describe("the organization's privacy statement, linked at the foot of every page (https://)"),
    termsUrl: secureUrl.optional().describe("the organization's terms of use, linked at the foot of every page (https://)"),
    signInText: z.string().max(500).optional().describe('a line of text under the form on every page of the tenant (at most 500 characters)'),
    defaultLocale: z
      .enum(LOCALES)
      .optional()
      .describe("language of the pages when the browser's Accept-Language names none of en, de, fr, es, ja (default en)"),
    strings: z
      .record(z.string(), z.union([z.string().min(1).max(1000), z.partialRecord(z.enum(LOCALES), z.string().min(1).max(1000))]))
      .optional()
      .superRefine(checkStrings)
      .describe(
        'page texts replaced for this tenant: message key (views/locales/en.json) → text, or → { language: text }; only known keys, and only the placeholders the key has',
      ),
  })
  .strict();

/** `branding.strings`: every key exists in en.json and uses no placeholder the key does not have. */
function checkStrings(strings: Record<string, StringOverride> | undefined, ctx: z.RefinementCtx): void {
  if (!strings) return;
  const catalog = messageCatalog();
  for (const [key, value] of Object.entries(strings)) {
    if (!Object.hasOwn(catalog, key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'not a message key of views/locales/en.json' });
      continue;
    }
    const allowed = placeholdersOf(catalog[key]);
    const texts = typeof value === 'string' ? [['', value] as const] : Object.entries(value).map(([l, v]) => [l, v ?? ''] as const);
    for (const [locale, text] of texts) {
      const unknown = placeholdersOf(text).filter((p) => !allowed.includes(p));
      if (unknown.length) {
        ctx.addIssue({
          code: 'custom',
          path: locale ? [key, locale] : [key],
          message: `unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')}; this message has ${allowed.length ? allowed.map((p) => `{${p}}`).join(', ') : 'none'}`,
        });
      }
    }
  }
}

const policy = z
  .object({
    requireMfa: z.boolean().default(false).describe('refuse sign-ins the IdP does not report as multi-factor'),
    allowedGroups: z.array(z.string()).default([]).describe('when not empty, only members of one of these groups get a token'),
    requireHintMatch: z.boolean().default(true).describe('the signed-in user must be the login_hint user the device gave'),
    requireInvitation: z.boolean().default(false).describe('enroll only with an invitation (fedbridge link, admin API)'),
    /** Off by default: the signed-in UPN's domain must be one of the tenant's domains (docs/configuration.md). */
    allowForeignDomains: z.boolean().default(false).describe("sign in users whose domain is not one of the tenant's domains (config check warns)"),
  })
  .strict();


const tenant = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes').describe("the tenant's id: the token's tid, /t/<id>/auth"),
    displayName: z.string().min(1).describe('the organization name shown on the pages'),
    domains: z
      // Labels of letters, digits and inner hyphens: no empty label (`.contoso.com`, `contoso..com`), no
      // label starting or ending with '-', so no look-alike of another tenant's domain (docs/configuration.md).
      .array(z.string().toLowerCase().regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'is not a domain name'))
      .min(1)
      .describe("the users' domains; home-realm discovery and the tenant binding use them, no two tenants share one"),
    audience: z.string().min(1).optional().describe("the tokens' aud for this tenant (default tokens.audience)"),
    branding: branding.default({}).describe('the look of the pages for this tenant'),
    policy: policy
      .default({ requireMfa: false, allowedGroups: [], requireHintMatch: true, requireInvitation: false, allowForeignDomains: false })
      .describe('who may get a token, checked at the end of every sign-in'),
    idp: idpSchema.describe("the tenant's upstream identity provider; its keys depend on kind (sections below)"),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        publicUrl: secureUrl
          .refine((v) => !v.endsWith('/'), 'must not end with a slash')
          .optional()
          .describe('issuer of the tokens, exactly as written, and base of every callback URL (default http://HOST:PORT on loopback)'),
        port: z.number().int().min(0).max(65535).optional().describe('port to listen on (default PORT, else 8080)'),
        host: z.string().optional().describe('address to listen on (default HOST, else 127.0.0.1)'),
        trustProxy: z.boolean().default(false).describe('take the client address from X-Forwarded-For (one proxy hop)'),
      })
      .strict()
      .default({ trustProxy: false })
      .describe('where the service listens and how it is reached'),
    store: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('sqlite'), path: z.string().default('./data/fedbridge.db').describe('the SQLite file (one instance)') }).strict(),
        z
          .object({
            kind: z.literal('redis'),
            /** One server. */
            url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional().describe('one Redis server, redis:// or rediss://'),
            /** Sentinel: the sentinels' addresses and the monitored master's name. */
            sentinels: z.array(z.string().regex(hostPort, 'must be host:port')).min(1).optional().describe('Sentinel addresses (host:port)'),
            name: z.string().min(1).optional().describe("the Sentinel-monitored master's name"),
            /** Cluster: seed nodes. */
            cluster: z.array(z.string().regex(hostPort, 'must be host:port')).min(1).optional().describe('Redis Cluster seed nodes (host:port)'),
            /** For sentinels/cluster (a url carries its own). */
            password: z.string().min(1).optional().describe('password for sentinels or cluster (a url carries its own); write it as ${ENV}'),
          })
          .strict()
          .superRefine((v, ctx) => {
            const given = (['url', 'sentinels', 'cluster'] as const).filter((k) => v[k] !== undefined);
            if (given.length !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of url, sentinels (with name) or cluster' });
            if (v.sentinels && !v.name) ctx.addIssue({ code: 'custom', path: ['name'], message: "is required with sentinels (the master's name)" });
            if (v.name && !v.sentinels) ctx.addIssue({ code: 'custom', path: ['name'], message: 'only goes with sentinels' });
          }),
      ])
      .default({ kind: 'sqlite', path: './data/fedbridge.db' })
      .describe('where transactions, replay markers, invitations, rate limits and the audit log live (Redis for several instances)'),
    keys: z
      .object({
        dir: z.string().default('./keys').describe('directory of the signing keys, one JSON file per key (share it between instances)'),
        algorithm: z.enum(['ES256', 'RS256', 'PS256', 'EdDSA']).default('ES256').describe('signature algorithm of new keys'),
        /** JWKS Cache-Control max-age; a rotated-in key signs only after it. */
        jwksMaxAgeSeconds: z.number().int().min(0).max(86_400).default(300).describe('JWKS Cache-Control max-age; a rotated-in key signs only after it'),
      })
      .strict()
      .default({ dir: './keys', algorithm: 'ES256', jwksMaxAgeSeconds: 300 })
      .describe('token signing keys (fedbridge keys list|rotate)'),
    tokens: z
      .object({
        ttlSeconds: z.number().int().min(30).max(3600).default(600).describe('lifetime of a minted token'),
        audience: z.string().min(1).default('urn:fedbridge:mdm').describe("the tokens' aud where the tenant sets none"),
      })
      .strict()
      .default({ ttlSeconds: 600, audience: 'urn:fedbridge:mdm' })
      .describe('the tokens Fedbridge mints'),
    appru: z
      .object({
        schemes: z.array(z.literal('ms-app:')).default(['ms-app:']).describe('ms-app:// return addresses accepted (only the device window can receive them)'),
        allow: z.array(secureUrl).default([]).describe('extra exact https:// return addresses (http:// only on loopback)'),
      })
      .strict()
      .default({ schemes: ['ms-app:'], allow: [] })
      .describe('where a token may be posted (the appru of /auth)'),
    enrollmentServers: z
      .array(
        z
          .object({
            id: z.string().min(1).describe('client id (HTTP Basic user name at /introspect)'),
            secret: z.string().min(1).describe('client secret, at least 16 characters; write it as ${ENV}'),
            tenants: z.array(z.string()).optional().describe('tenant ids this client may see (default: all)'),
          })
          .strict(),
      )
      .default([])
      .describe('clients of POST /introspect (enrollment servers)'),
    admin: z
      .object({ token: z.string().min(16, 'must be at least 16 characters').describe('bearer token of the admin API; write it as ${ENV}') })
      .strict()
      .optional()
      .describe('the admin API at /admin/api/v1 (off without it)'),
    metrics: z
      .object({ token: z.string().min(16).optional().describe('bearer token of /metrics; without it only loopback clients may read it') })
      .strict()
      .default({})
      .describe('the Prometheus endpoint /metrics'),
    limits: z
      .object({
        passwordPerUser: z.number().int().min(0).default(10).describe('failed passwords per user per minute (0: no limit)'),
        passwordPerIp: z.number().int().min(0).default(30).describe('failed passwords per client address per minute (0: no limit)'),
        authPerIp: z.number().int().min(0).default(600).describe('sign-ins started per client address per minute (0: no limit)'),
        /** Days an address where a user signed in successfully keeps its own password budget (smart lockout). */
        familiarDays: z.number().int().min(0).max(365).default(30).describe("days an address where the user signed in keeps its own password budget (smart lockout)"),
        adminTokenPerIp: z.number().int().min(0).default(30).describe('wrong admin tokens per client address per minute at the admin API (0: no limit)'),
      })
      .strict()
      .default({ passwordPerUser: 10, passwordPerIp: 30, authPerIp: 600, familiarDays: 30, adminTokenPerIp: 30 })
      .describe('rate limits'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('log level (FEDBRIDGE_LOG_LEVEL where the file says info)'),
      })
      .strict()
      .default({ level: 'info' })
      .describe('JSON logs on stdout'),
    audit: z
      .object({
        retentionDays: z
          .number()
          .int()
          .min(1)
          .max(36_500)
          .default(90)
          .describe('days an audit event is kept; older ones are deleted by the periodic purge (Redis also keeps at most the newest 100,000)'),
      })
      .strict()
      .default({ retentionDays: 90 })
      .describe('the audit log (docs/operations.md "Audit retention")'),
    discovery: z
      .object({
        enrollmentServiceUrl: secureUrl.describe("the MDM's enrollment service (EnrollmentServiceUrl of the answer)"),
        enrollmentPolicyServiceUrl: secureUrl.describe("the MDM's policy service, on the same host as the enrollment service"),
        enrollmentVersion: z.string().regex(/^\d+\.\d+$/).optional().describe("answer's EnrollmentVersion (default: the lower of the request's and 5.0)"),
      })
      .strict()
      .optional()
      .describe('serve MS-MDE2 discovery at /EnrollmentServer/Discovery.svc (off without it)'),
    tenants: z.array(tenant).default([]).describe('the organizations whose users sign in here'),
  })
  .strict();

export { tenant as tenantSchema };
export type ConfigFile = z.infer<typeof configSchema>;
export type TenantConfig = z.infer<typeof tenant>;
export type IdpConfig = z.infer<typeof idpSchema>;
export { idpSchema };
export type { OidcIdpConfig } from '../upstreams/oidc/config.js';
export type { LocalIdpConfig } from '../upstreams/local/config.js';
