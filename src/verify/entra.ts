/**
 * Entra ID's own MDM tokens (automatic enrollment: header BST of ValueType
 * urn:ietf:params:oauth:token-type:jwt). Entra signs every tenant's tokens with the
 * same keys, so a valid signature proves nothing about the tenant: tid, iss and aud
 * are all checked against the caller's configuration (the lesson of CVE-2026-24899).
 */
import { decodeJwt, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { mapJoseError, type TokenCheck } from '../tokens/verify.js';

export interface EntraClaims extends JWTPayload {
  tid: string;
  scp?: string;
  upn?: string;
  unique_name?: string;
  preferred_username?: string;
  oid?: string;
  /** Entra's unique token id (its tokens usually carry no jti). */
  uti?: string;
}

export interface EntraCheckOptions {
  keys: JWTVerifyGetKey;
  /** Directory (tenant) ids accepted; an empty list accepts none. */
  tenantIds: string[];
  audience: string | string[];
  /** Epoch ms. */
  now: number;
  clockToleranceSeconds?: number;
}

export const MDM_SCOPE = 'mdm_delegation';

/** The two issuer forms Entra uses for a tenant: v1 (sts.windows.net) and v2 (login.microsoftonline.com). */
export function entraIssuers(tid: string): string[] {
  return [`https://sts.windows.net/${tid}/`, `https://login.microsoftonline.com/${tid}/v2.0`];
}

const ENTRA_ISSUER = /^https:\/\/(?:sts\.windows\.net\/[^/]+\/|login\.microsoftonline\.com\/[^/]+\/v2\.0)$/;

/** Routing only (never trust): does this unverified token claim to come from Entra? */
export function claimsEntraIssuer(token: string): boolean {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' && ENTRA_ISSUER.test(iss);
  } catch {
    return false;
  }
}

/** The user's UPN: `upn` for work accounts, `unique_name` (v1) or `preferred_username` (v2) otherwise. */
export function entraUpn(c: EntraClaims): string | null {
  for (const v of [c.upn, c.unique_name, c.preferred_username]) if (typeof v === 'string' && v) return v;
  return null;
}

export async function verifyEntraToken(token: string, opts: EntraCheckOptions): Promise<TokenCheck<EntraClaims>> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, opts.keys, {
      algorithms: ['RS256'],
      currentDate: new Date(opts.now),
      clockTolerance: opts.clockToleranceSeconds ?? 30,
      requiredClaims: ['iss', 'aud', 'exp', 'tid'],
    }));
  } catch (err) {
    return { ok: false, ...mapJoseError(err) };
  }
  const claims = payload as EntraClaims;
  if (typeof claims.tid !== 'string' || claims.tid === '') return { ok: false, error: 'malformed', description: 'tid must be a string' };

  const allowed = opts.tenantIds.map((t) => t.toLowerCase());
  if (!allowed.includes(claims.tid.toLowerCase())) {
    return { ok: false, error: 'unknown_tenant', description: 'the Entra tenant is not accepted here' };
  }
  if (!entraIssuers(claims.tid).includes(String(claims.iss))) {
    return { ok: false, error: 'bad_signature', description: "the token's issuer is not Entra ID for its own tenant" };
  }
  const expected = Array.isArray(opts.audience) ? opts.audience : [opts.audience];
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!auds.some((a) => typeof a === 'string' && expected.includes(a))) {
    return { ok: false, error: 'wrong_audience', description: 'the token is for another audience' };
  }
  const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
  if (!scopes.includes(MDM_SCOPE)) {
    return { ok: false, error: 'insufficient_scope', description: `the token lacks the ${MDM_SCOPE} scope` };
  }
  if (!entraUpn(claims)) return { ok: false, error: 'malformed', description: 'the token names no user (upn)' };
  return { ok: true, claims };
}
