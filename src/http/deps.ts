/** Everything a request handler may use. Built once at start-up; no global state. */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { TenantConfig } from '../config/schema.js';
import type { Store } from '../store/types.js';
import type { KeyRing } from '../tokens/keys.js';
import type { Upstream } from '../upstreams/types.js';
import type { AuditQueue } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import type { Views } from './views.js';
import type { TenantDirectory } from '../tenants/types.js';
import { domainOf } from '../config/domains.js';

export { domainOf };

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface AppDeps {
  /** The effective configuration of the latest snapshot (file settings, file and store tenants). */
  readonly config: Config;
  store: Store;
  keys: KeyRing;
  /** The latest snapshot's upstreams, by tenant id. */
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Tenants and their upstreams (src/tenants/directory.ts); take one snapshot per request: pinSnapshot. */
  directory: TenantDirectory;
  clock: Clock;
  log: Logger;
  audit: AuditQueue;
  metrics: Metrics;
  views: Views;
}

/**
 * The deps of one request: `config` and `upstreams` fixed to one snapshot of the tenant
 * directory, so a reload or store change mid-request is never half seen (docs/operations.md "Hot reload").
 */
export function pinSnapshot(deps: AppDeps): AppDeps {
  const snap = deps.directory.current();
  return { ...deps, config: snap.config, upstreams: snap.upstreams };
}

export function tenantById(config: Config, id: string | null | undefined): TenantConfig | null {
  return (id && config.tenants.find((t) => t.id === id)) || null;
}

/** Home-realm discovery: the tenant that owns the email's domain. */
export function tenantForEmail(config: Config, email: string): TenantConfig | null {
  const domain = domainOf(email);
  if (!domain) return null;
  return config.tenants.find((t) => t.domains.includes(domain)) ?? null;
}

/** Is `upn`'s domain one of the tenant's own domains? (Ignores policy.allowForeignDomains.) */
export function ownsDomainOf(tenant: TenantConfig, upn: string): boolean {
  const domain = domainOf(upn);
  return domain !== null && tenant.domains.includes(domain);
}

/**
 * Tenant binding (docs/configuration.md): may a user named `upn` sign in to (or be invited to) this
 * tenant? Only within its domains, unless `policy.allowForeignDomains` widens it.
 */
export function upnAllowedIn(tenant: TenantConfig, upn: string): boolean {
  return tenant.policy.allowForeignDomains || ownsDomainOf(tenant, upn);
}

/** The audience tokens of a tenant carry. */
export function audienceOf(config: Config, tenant: TenantConfig): string {
  return tenant.audience ?? config.tokens.audience;
}

/** For token checks: the audience a token of tenant `tid` must carry, null for an unknown tenant. */
export function audienceResolver(config: Config): (tid: string) => string | null {
  return (tid) => {
    const t = tenantById(config, tid);
    return t ? audienceOf(config, t) : null;
  };
}
