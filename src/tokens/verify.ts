/**
 * Verifies a Fedbridge token and maps every failure to one of the stable codes of
 * docs/enrollment-server.md. Used by /introspect, `fedbridge token verify` and fedbridge/verify.
 */
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { FedbridgeClaims } from './claims.js';

export type TokenErrorCode =
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'unknown_tenant'
  | 'replayed'
  | 'wrong_token_type'
  | 'insufficient_scope';

export type TokenCheck<T = FedbridgeClaims> =
  | { ok: true; claims: T }
  | { ok: false; error: TokenErrorCode; description: string };

export interface FedbridgeVerifyOptions {
  keys: JWTVerifyGetKey;
  issuer: string;
  /** Epoch ms. */
  now: number;
  /**
   * The audience a token of tenant `tid` must carry, or null when the tenant is unknown.
   * Without it any tid is accepted and `audience` below is checked instead.
   */
  audienceFor?: (tid: string) => string | null;
  audience?: string | string[];
  /** May the caller see tokens of this tenant? (enrollmentServers[].tenants) */
  tenantAllowed?: (tid: string) => boolean;
  /** Seconds a token stays acceptable after its `exp`; default 0. */
  expLeewaySeconds?: number;
  /** Seconds `nbf` and `iat` may lie ahead of our clock (another host's); default 5. */
  nbfLeewaySeconds?: number;
  /**
   * Longest lifetime accepted, as `exp - iat` and as `exp - nbf`; default 3600 (the largest
   * `tokens.ttlSeconds`). /introspect passes the configured `tokens.ttlSeconds`.
   */
  maxLifetimeSeconds?: number;
}

/** docs/enrollment-server.md: at most 5 s on nbf and iat at /introspect (hosts' clocks differ slightly). */
export const DEFAULT_NBF_LEEWAY_SECONDS = 5;
/** The largest `tokens.ttlSeconds` the configuration accepts. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

export const ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'];

export function mapJoseError(err: unknown): { error: TokenErrorCode; description: string } {
  if (err instanceof joseErrors.JWTExpired) return { error: 'expired', description: 'the token has expired' };
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    // A claim that is missing or not a number is a malformed token, whatever the claim: only a
    // failed time comparison ("check_failed") means "not yet valid".
    if (err.reason === 'missing' || err.reason === 'invalid') return { error: 'malformed', description: `claim ${err.claim} is missing or not of the right type` };
    if (err.claim === 'nbf' || err.claim === 'iat') return { error: 'not_yet_valid', description: 'the token is not valid yet' };
    if (err.claim === 'aud') return { error: 'wrong_audience', description: 'the token is for another audience' };
    if (err.claim === 'iss') return { error: 'bad_signature', description: 'the token was not issued by this service' };
    return { error: 'malformed', description: `claim ${err.claim} is invalid` };
  }
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JOSEAlgNotAllowed ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return { error: 'bad_signature', description: 'the signature does not verify against the published keys' };
  }
  return { error: 'malformed', description: 'not a well-formed signed token' };
}

const REQUIRED = ['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti', 'tid', 'upn'];

/**
 * The time rules with a leeway of their own for exp and for nbf/iat (jose has one for both and
 * never compares iat with the clock), and the lifetime bound. jose has already checked that the
 * three are numbers. A lifetime over the bound is `expired`, as jose reports a token older than
 * its maxTokenAge: the token should have expired by now.
 */
export function checkTimes(
  c: { exp: number; nbf: number; iat: number },
  now: number,
  expLeeway: number,
  nbfLeeway: number,
  maxLifetime: number,
): { error: TokenErrorCode; description: string } | null {
  // A token that ends before it starts was never valid: malformed, not expired (checked first,
  // so no leeway can make it pass).
  if (c.exp < c.nbf || c.exp < c.iat) return { error: 'malformed', description: 'exp is earlier than nbf or iat' };
  if (c.exp <= now - expLeeway) return { error: 'expired', description: 'the token has expired' };
  if (c.nbf > now + nbfLeeway || c.iat > now + nbfLeeway) return { error: 'not_yet_valid', description: 'the token is not valid yet' };
  if (c.exp - c.iat > maxLifetime || c.exp - c.nbf > maxLifetime) {
    return { error: 'expired', description: `the token's lifetime exceeds ${maxLifetime} s` };
  }
  return null;
}

export async function verifyFedbridgeToken(token: string, opts: FedbridgeVerifyOptions): Promise<TokenCheck> {
  const expLeeway = opts.expLeewaySeconds ?? 0;
  const nbfLeeway = opts.nbfLeewaySeconds ?? DEFAULT_NBF_LEEWAY_SECONDS;
  const maxLifetime = opts.maxLifetimeSeconds ?? MAX_TOKEN_LIFETIME_SECONDS;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, opts.keys, {
      issuer: opts.issuer,
      algorithms: ALGORITHMS,
      typ: 'JWT',
      currentDate: new Date(opts.now),
      // jose has one tolerance for exp and nbf alike: give it the larger, then narrow below.
      clockTolerance: Math.max(expLeeway, nbfLeeway),
      requiredClaims: REQUIRED,
      ...(opts.audience && !opts.audienceFor ? { audience: opts.audience } : {}),
    }));
  } catch (err) {
    return { ok: false, ...mapJoseError(err) };
  }
  const time = checkTimes(payload as { exp: number; nbf: number; iat: number }, Math.floor(opts.now / 1000), expLeeway, nbfLeeway, maxLifetime);
  if (time) return { ok: false, ...time };
  const claims = payload as unknown as FedbridgeClaims;
  if (typeof claims.tid !== 'string' || typeof claims.upn !== 'string' || typeof claims.jti !== 'string') {
    return { ok: false, error: 'malformed', description: 'tid, upn and jti must be strings' };
  }
  if (opts.audienceFor) {
    const expected = opts.audienceFor(claims.tid);
    if (expected === null) return { ok: false, error: 'unknown_tenant', description: 'the token names a tenant this service does not serve' };
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!auds.includes(expected)) return { ok: false, error: 'wrong_audience', description: 'the token is for another audience' };
  }
  if (opts.tenantAllowed && !opts.tenantAllowed(claims.tid)) {
    return { ok: false, error: 'wrong_audience', description: 'the token belongs to a tenant this client may not see' };
  }
  return { ok: true, claims };
}
