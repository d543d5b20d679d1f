/** Upstream kinds by name: adding a kind is one folder and one line here. */
import type { TenantConfig } from '../config/schema.js';
import type { Upstream, UpstreamDeps, UpstreamFactory } from './types.js';
import { createLocalUpstream } from './local/index.js';
import { createOidcUpstream } from './oidc/index.js';

const registry: Record<string, UpstreamFactory> = {
  local: createLocalUpstream,
  oidc: createOidcUpstream,
};

export const upstreamKinds: readonly string[] = Object.keys(registry);

export function createUpstream(tenant: TenantConfig, deps: UpstreamDeps): Upstream {
  const factory = registry[tenant.idp.kind];
  if (!factory) throw new Error(`upstream kind ${tenant.idp.kind} is not available`);
  return factory(tenant, deps);
}
