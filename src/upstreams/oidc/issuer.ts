/**
 * Issuer rules, including Entra ID's multi-tenant endpoints. The discovery documents of
 * `…/organizations/v2.0` and `…/common/v2.0` advertise the template
 * `https://login.microsoftonline.com/{tenantid}/v2.0`; each ID token then carries the issuer
 * of the user's own directory. The only sound check is: iss equals the template filled in
 * with the token's own `tid`, and that tid is one the tenant allows.
 */
import { isLoopbackHost } from '../../config/urls.js';
import { FedbridgeError } from '../../errors.js';

export const TENANT_PLACEHOLDER = '{tenantid}';

/** Where the multi-tenant discovery document lives when the issuer is written as the template. */
const MULTI_TENANT_SEGMENT = 'organizations';

/**
 * An http:// issuer on a loopback host (the config refuses any other http:// issuer): only
 * then is openid-client told to allow plain HTTP, and only for that provider.
 */
export function isLoopbackHttp(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === 'http:' && isLoopbackHost(u.hostname);
}

export function isTemplate(issuer: string): boolean {
  return issuer.includes(TENANT_PLACEHOLDER);
}

/** The discovery document address for a configured issuer (OpenID Connect Discovery §4). */
export function discoveryUrl(configured: string): URL {
  const base = configured.replace(TENANT_PLACEHOLDER, MULTI_TENANT_SEGMENT).replace(/\/$/, '');
  return new URL(`${base}/.well-known/openid-configuration`);
}

/**
 * Does the issuer a discovery document advertises belong to the configured one? Exactly
 * equal, or (multi-tenant) the template whose `{tenantid}` stands where the configured
 * issuer says `organizations`/`common`. Returns the template, null for a plain issuer,
 * or undefined when the document is someone else's.
 */
export function matchDiscoveredIssuer(configured: string, discovered: string): string | null | undefined {
  if (discovered === configured) return isTemplate(discovered) ? discovered : null;
  if (!isTemplate(discovered)) return undefined;
  const [before, after] = splitTemplate(discovered);
  const middle = configured.slice(before.length, configured.length - after.length);
  const fits = configured.startsWith(before) && configured.endsWith(after) && /^[A-Za-z0-9.-]+$/.test(middle);
  return fits ? discovered : undefined;
}

function splitTemplate(template: string): [string, string] {
  const i = template.indexOf(TENANT_PLACEHOLDER);
  return [template.slice(0, i), template.slice(i + TENANT_PLACEHOLDER.length)];
}

/** A tid as Entra writes it (a GUID), or any plain token: never something that reshapes a URL. */
export function isPlausibleTid(tid: unknown): tid is string {
  return typeof tid === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(tid);
}

export function issuerForTenant(template: string, tid: string): string {
  return template.replace(TENANT_PLACEHOLDER, tid);
}

/**
 * After the ID token validated: with a template, its iss must be the template filled with its
 * own tid; with `allowedTenantIds`, that tid must be listed (Entra tids are GUIDs; any case).
 */
export function checkTenant(claims: Record<string, unknown>, template: string | null, allowedTenantIds: readonly string[]): void {
  const tid = claims.tid;
  if (template && (!isPlausibleTid(tid) || claims.iss !== issuerForTenant(template, tid))) {
    throw new FedbridgeError(502, 'upstream_invalid_token', 'ID token iss does not match the issuer of its tid');
  }
  if (allowedTenantIds.length === 0) return;
  const allowed = isPlausibleTid(tid) && allowedTenantIds.some((t) => t.toLowerCase() === tid.toLowerCase());
  if (!allowed) throw new FedbridgeError(403, 'tenant_not_allowed', `directory ${isPlausibleTid(tid) ? tid : '(none)'} is not allowed`);
}
