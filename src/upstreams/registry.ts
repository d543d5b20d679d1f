/**
 * Upstream kinds by name (docs/upstreams.md): adding a kind is one folder and one line in
 * `kinds`. The tenant schema, `config check`, the return routes and start-up all read this list.
 */
import { z } from 'zod';
import type { TenantConfig } from '../config/schema.js';
import type { Upstream, UpstreamDeps, UpstreamKind } from './types.js';
import { localKind } from './local/index.js';
import { oidcKind } from './oidc/index.js';
import { samlKind } from './saml/index.js';
import { wsfedKind } from './wsfed/index.js';
import { wstrustKind } from './wstrust/index.js';

export const kinds = [localKind, oidcKind, samlKind, wsfedKind, wstrustKind] as const;

type SchemasOf<T extends readonly UpstreamKind[]> = { -readonly [K in keyof T]: T[K]['schema'] };

/** The `idp` key of a tenant: one strict object per kind, chosen by `kind`. */
export const idpSchema = z.discriminatedUnion(
  'kind',
  kinds.map((k) => k.schema) as unknown as SchemasOf<typeof kinds>,
);

export const upstreamKinds: readonly string[] = kinds.map((k) => k.kind);

export function kindOf(name: string): UpstreamKind | undefined {
  return (kinds as readonly UpstreamKind[]).find((k) => k.kind === name);
}

export function createUpstream(tenant: TenantConfig, deps: UpstreamDeps): Upstream {
  const kind = kindOf(tenant.idp.kind);
  // The config schema admits only registered kinds, so this is a programming error.
  if (!kind) throw new Error(`upstream kind ${tenant.idp.kind} is not registered`);
  return kind.create(tenant, tenant.idp, deps);
}
