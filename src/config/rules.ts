/** Rules that span several keys (zod checks one value at a time). */
import type { z } from 'zod';
import { configSchema, idpSchema, tenantSchema, type ConfigFile, type IdpConfig, type TenantConfig } from './schema.js';
import { domainOf } from './domains.js';
import { kindOf, upstreamKinds } from '../upstreams/registry.js';

/**
 * What the cross-key rules look at. A valid ConfigFile is one; when the schema fails,
 * `partialConfig` builds one from the parts that did validate, so these rules still run
 * and every problem is reported at once (a key that failed is skipped here: the schema
 * already reported it).
 */
export interface RulesInput {
  tenants: Array<Partial<Pick<TenantConfig, 'id' | 'domains' | 'policy' | 'idp'>> & { idpKind?: string }>;
  enrollmentServers: Array<Partial<ConfigFile['enrollmentServers'][number]>>;
  discovery?: ConfigFile['discovery'];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);


function pick<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

export function partialConfig(raw: unknown): RulesInput & { server: Partial<ConfigFile['server']> } {
  const obj = isRecord(raw) ? raw : {};
  const shape = configSchema.shape;
  const t = tenantSchema.shape;
  const server = isRecord(obj.server) ? obj.server : {};
  const s = shape.server.unwrap().shape;
  return {
    server: { publicUrl: pick(s.publicUrl, server.publicUrl), port: pick(s.port, server.port), host: pick(s.host, server.host) },
    tenants: (Array.isArray(obj.tenants) ? obj.tenants : []).map((raw) => {
      const r = isRecord(raw) ? raw : {};
      const kind = isRecord(r.idp) && typeof r.idp.kind === 'string' ? r.idp.kind : undefined;
      return { id: pick(t.id, r.id), domains: pick(t.domains, r.domains), policy: pick(t.policy, r.policy), idp: pick(idpSchema, r.idp), idpKind: kind };
    }),
    enrollmentServers: (Array.isArray(obj.enrollmentServers) ? obj.enrollmentServers : []).map(
      (s) => pick(shape.enrollmentServers.unwrap().element, s) ?? (isRecord(s) && typeof s.id === 'string' ? { id: s.id } : {}),
    ),
    discovery: pick(shape.discovery, obj.discovery),
  };
}

export function checkCrossRules(cfg: RulesInput, kinds: readonly string[] | undefined, demo: boolean): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const domainOwner = new Map<string, string>();

  cfg.tenants.forEach((t, i) => {
    if (t.id !== undefined) {
      if (ids.has(t.id)) problems.push(`tenants[${i}].id: duplicate tenant id ${t.id}`);
      ids.add(t.id);
    }
    t.domains?.forEach((d, j) => {
      const owner = domainOwner.get(d);
      if (owner) problems.push(`tenants[${i}].domains[${j}]: ${d} already belongs to tenant ${owner}`);
      else domainOwner.set(d, t.id ?? `#${i}`);
    });
    const kind = t.idp?.kind ?? t.idpKind;
    const available = kinds ?? upstreamKinds;
    if (kind && !available.includes(kind)) {
      problems.push(`tenants[${i}].idp.kind: ${kind} is not available in this version (available: ${available.join(', ')})`);
    }
    const idp: IdpConfig | undefined = t.idp;
    // Each kind checks its own keys (src/upstreams/<kind>/); paths are below tenants[i].
    if (idp) for (const p of kindOf(idp.kind)?.rules?.(idp, t) ?? []) problems.push(`tenants[${i}].${p.path}: ${p.message}`);
  });

  cfg.enrollmentServers.forEach((s, i) => {
    s.tenants?.forEach((tid, j) => {
      if (!ids.has(tid)) problems.push(`enrollmentServers[${i}].tenants[${j}]: no tenant with id ${tid}`);
    });
  });
  const seen = new Set<string>();
  cfg.enrollmentServers.forEach((s, i) => {
    // Demo mode's client secret is public by design; real ones must be random and long.
    if (!demo && s.secret !== undefined && s.secret.length < 16) problems.push(`enrollmentServers[${i}].secret: must be at least 16 characters (use a random value)`);
    if (s.id === undefined) return;
    if (seen.has(s.id)) problems.push(`enrollmentServers[${i}].id: duplicate client id ${s.id}`);
    seen.add(s.id);
  });

  if (cfg.discovery) {
    const a = new URL(cfg.discovery.enrollmentServiceUrl).host;
    const b = new URL(cfg.discovery.enrollmentPolicyServiceUrl).host;
    if (a !== b) {
      problems.push(
        `discovery.enrollmentPolicyServiceUrl: must be on the same host as enrollmentServiceUrl (${a}); the Windows client requires it`,
      );
    }
  }
  return problems;
}

/**
 * Things a valid configuration allows but an operator should know about: printed by
 * `config check` (exit code still 0) and logged at start-up, each with its path.
 */
export function checkWarnings(cfg: Pick<ConfigFile, 'tenants'>): string[] {
  const warnings: string[] = [];
  const owner = new Map<string, string>();
  for (const t of cfg.tenants) for (const d of t.domains) owner.set(d, t.id);

  cfg.tenants.forEach((t, i) => {
    const foreign = t.policy.allowForeignDomains;
    if (foreign) {
      warnings.push(
        `tenants[${i}].policy.allowForeignDomains: tenant ${t.id} signs in users of any domain, not only ${t.domains.join(', ')}; ` +
          'its tokens may name users of other organizations (contract §2)',
      );
    }
    if (t.idp.kind !== 'local') return;
    t.idp.users.forEach((u, j) => {
      const domain = domainOf(u.upn);
      if (domain !== null && t.domains.includes(domain)) return;
      const other = domain !== null ? owner.get(domain) : undefined;
      const where = other ? `belongs to tenant ${other}` : `is not one of the tenant's domains (${t.domains.join(', ')})`;
      warnings.push(
        `tenants[${i}].idp.users[${j}].upn: ${domain === null ? 'has no domain' : `${domain} ${where}`}; ` +
          (foreign ? `tenant ${t.id} will sign this user in under its own id` : 'this user cannot sign in (policy.allowForeignDomains is off)'),
      );
    });
  });
  return warnings;
}
