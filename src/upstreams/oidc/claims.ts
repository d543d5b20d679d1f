/**
 * A validated ID token's claims → the normalized Identity. Which claim holds what is
 * configurable (`idp.claims`), because Entra ID, AD FS and other providers differ.
 */
import type { OidcIdpConfig } from './config.js';
import { FedbridgeError } from '../../errors.js';
import { MAX_CLAIM_LENGTH, type Identity } from '../../tokens/claims.js';

export type IdTokenClaims = Record<string, unknown>;

export interface ClaimsContext {
  cfg: OidcIdpConfig;
  idpId: string;
  /** Epoch milliseconds. */
  now: number;
}

/** AD FS reports MFA in amr with this URI; the policy looks for the RFC 8176 value. */
const AMR_ALIASES: Record<string, string> = { 'http://schemas.microsoft.com/claims/multipleauthn': 'mfa' };
const MAX_AMR = 16;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * Entra ID's `sub` is pairwise per app registration: re-registering Fedbridge would change
 * every user's subject. `oid` (the directory object id) with `tid` is Microsoft's stable user
 * key, so it is the subject when both are present; elsewhere `sub`.
 */
export function subjectOf(claims: IdTokenClaims): string {
  const oid = text(claims.oid);
  const tid = text(claims.tid);
  return oid && tid ? `${tid}/${oid}` : String(claims.sub);
}

/** The user name: the configured claim, then `upn`, then `email`. */
export function upnOf(claims: IdTokenClaims, cfg: OidcIdpConfig): string {
  for (const name of [cfg.claims.upn, 'upn', 'email']) {
    const value = text(claims[name]);
    if (value && value.length <= MAX_CLAIM_LENGTH) return value;
  }
  // Its own code for the admin; the page says what upstream_error says (no new message to translate).
  const detail = `ID token has no usable ${cfg.claims.upn}, upn or email claim`;
  throw new FedbridgeError(502, 'upstream_missing_claim', detail);
}

/**
 * Group ids, or null when they could not be read: Entra ID replaces a long list with an
 * overage pointer (`_claim_names.groups`, or `hasgroups`), and a provider not set up to
 * send groups sends none. The sign-in goes on; only a group policy then refuses it.
 */
export function groupsOf(claims: IdTokenClaims, name: string): string[] | null {
  const pointers = claims._claim_names;
  if (pointers && typeof pointers === 'object' && name in pointers) return null;
  if (claims.hasgroups === true || claims.hasgroups === 'true') return null;
  const value = claims[name];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  // AD FS sends a single value as a plain string.
  if (typeof value === 'string') return [value];
  return null;
}

export function amrOf(claims: IdTokenClaims): string[] {
  const raw = Array.isArray(claims.amr) ? claims.amr : typeof claims.amr === 'string' ? [claims.amr] : [];
  const values = raw
    .filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128)
    .map((v) => AMR_ALIASES[v] ?? v);
  return [...new Set(values)].slice(0, MAX_AMR);
}

/**
 * The acr the policy compares with `mfaAcr`: Entra ID reports a satisfied Conditional Access
 * authentication context in `acrs` (a list), other providers in `acr`.
 */
export function acrOf(claims: IdTokenClaims, mfaAcr: string | undefined): string | undefined {
  if (mfaAcr && Array.isArray(claims.acrs) && claims.acrs.includes(mfaAcr)) return mfaAcr;
  return text(claims.acr);
}

export function identityFromClaims(claims: IdTokenClaims, ctx: ClaimsContext): Identity {
  const { cfg } = ctx;
  const email = text(claims[cfg.claims.email]);
  const name = text(claims[cfg.claims.name]);
  const acr = acrOf(claims, cfg.mfaAcr);
  const amr = amrOf(claims);
  // An acr the admin named as MFA (`mfaAcr`) counts as MFA: the policy then only reads amr.
  if (cfg.mfaAcr && acr === cfg.mfaAcr && !amr.includes('mfa')) amr.push('mfa');
  return {
    subject: subjectOf(claims),
    upn: upnOf(claims, cfg),
    ...(email && email.length <= MAX_CLAIM_LENGTH ? { email } : {}),
    ...(name ? { name: name.slice(0, MAX_CLAIM_LENGTH) } : {}),
    groups: groupsOf(claims, cfg.claims.groups),
    amr,
    ...(acr && acr.length <= MAX_CLAIM_LENGTH ? { acr } : {}),
    authTime: typeof claims.auth_time === 'number' ? Math.floor(claims.auth_time) : Math.floor(ctx.now / 1000),
    idp: { kind: 'oidc', id: ctx.idpId },
  };
}
