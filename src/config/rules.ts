/** Rules that span several keys (zod checks one value at a time). */
import type { ConfigFile } from './schema.js';

export function checkCrossRules(cfg: ConfigFile, kinds: readonly string[] | undefined, demo: boolean): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const domainOwner = new Map<string, string>();

  cfg.tenants.forEach((t, i) => {
    if (ids.has(t.id)) problems.push(`tenants[${i}].id: duplicate tenant id ${t.id}`);
    ids.add(t.id);
    t.domains.forEach((d, j) => {
      const owner = domainOwner.get(d);
      if (owner) problems.push(`tenants[${i}].domains[${j}]: ${d} already belongs to tenant ${owner}`);
      else domainOwner.set(d, t.id);
    });
    const idp = t.idp;
    if (kinds && !kinds.includes(idp.kind)) {
      problems.push(`tenants[${i}].idp.kind: ${idp.kind} is not available in this version (available: ${kinds.join(', ')})`);
    }
    if (idp.kind === 'oidc' && idp.tokenEndpointAuthMethod !== 'private_key_jwt' && !idp.clientSecret) {
      problems.push(`tenants[${i}].idp.clientSecret: required for ${idp.tokenEndpointAuthMethod}`);
    }
    if (idp.kind === 'oidc' && idp.issuer.includes('{tenantid}') && idp.allowedTenantIds.length === 0) {
      problems.push(
        `tenants[${i}].idp.allowedTenantIds: a multi-tenant issuer needs the list of Entra tenant ids to accept (accepting any tenant is unsafe)`,
      );
    }
    if (idp.kind === 'saml' && !idp.metadataUrl && !idp.metadataFile) {
      problems.push(`tenants[${i}].idp: a saml IdP needs metadataUrl or metadataFile`);
    }
    if (t.policy.requireMfa && idp.kind === 'local') {
      problems.push(`tenants[${i}].policy.requireMfa: the local IdP cannot do MFA`);
    }
  });

  cfg.enrollmentServers.forEach((s, i) => {
    s.tenants?.forEach((tid, j) => {
      if (!ids.has(tid)) problems.push(`enrollmentServers[${i}].tenants[${j}]: no tenant with id ${tid}`);
    });
  });
  const seen = new Set<string>();
  cfg.enrollmentServers.forEach((s, i) => {
    // Demo mode's client secret is public by design; real ones must be random and long.
    if (!demo && s.secret.length < 16) problems.push(`enrollmentServers[${i}].secret: must be at least 16 characters (use a random value)`);
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
