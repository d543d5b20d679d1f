/** Mints the `wresult` token: a compact JWS signed with the current key (README, The token). */
import { createHash, randomBytes } from 'node:crypto';
import { signCompact } from './sign.js';
import type { KeyRing } from './keys.js';
import { CLIENT_PARAMS, MAX_TOKEN_BYTES, type FedbridgeClaims, type Identity } from './claims.js';
import { internalError } from '../errors.js';

export interface MintInput {
  identity: Identity;
  issuer: string;
  audience: string;
  tenantId: string;
  ttlSeconds: number;
  loginHint: string | null;
  client: Record<string, string>;
  invitationId: string | null;
  now: number;
}

/** Stable per user and upstream IdP, opaque: no upstream identifier leaks into the token. */
export function subjectFor(identity: Identity, tenantId: string): string {
  return createHash('sha256')
    .update(`${tenantId}\u0000${identity.idp.kind}\u0000${identity.idp.id}\u0000${identity.subject}`)
    .digest('base64url');
}

export function buildClaims(input: MintInput): FedbridgeClaims {
  const { identity } = input;
  const iat = Math.floor(input.now / 1000);
  const client = Object.fromEntries(
    CLIENT_PARAMS.filter((k) => input.client[k]).map((k) => [k, input.client[k]]),
  ) as FedbridgeClaims['client'];
  return {
    iss: input.issuer,
    aud: input.audience,
    sub: subjectFor(identity, input.tenantId),
    upn: identity.upn,
    ...(identity.email ? { email: identity.email } : {}),
    ...(identity.name ? { name: identity.name } : {}),
    tid: input.tenantId,
    idp: identity.idp,
    amr: identity.amr,
    auth_time: identity.authTime,
    iat,
    nbf: iat,
    exp: iat + input.ttlSeconds,
    jti: randomBytes(16).toString('base64url'),
    ...(input.loginHint ? { login_hint: input.loginHint } : {}),
    ...(client && Object.keys(client).length ? { client } : {}),
    ...(input.invitationId ? { inv: input.invitationId } : {}),
  };
}

export async function mintToken(keys: KeyRing, input: MintInput): Promise<{ token: string; claims: FedbridgeClaims }> {
  const key = keys.signingKey(input.now);
  const claims = buildClaims(input);
  const token = signCompact(key.alg, key.keyObject, { alg: key.alg, kid: key.kid, typ: 'JWT' }, claims as unknown as Record<string, unknown>);
  if (token.length > MAX_TOKEN_BYTES) throw internalError(`token of ${token.length} bytes exceeds ${MAX_TOKEN_BYTES}`);
  return { token, claims };
}
