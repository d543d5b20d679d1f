/** The normalized identity every upstream produces, and the token's claims (README, The token). */

export interface Identity {
  /** The upstream's own stable subject. */
  subject: string;
  upn: string;
  email?: string;
  name?: string;
  /** null when the upstream could not tell (e.g. Entra groups overage). */
  groups: string[] | null;
  amr: string[];
  acr?: string;
  /** Epoch seconds. */
  authTime: number;
  idp: { kind: string; id: string };
}

export interface FedbridgeClaims {
  iss: string;
  aud: string;
  sub: string;
  upn: string;
  email?: string;
  name?: string;
  tid: string;
  idp: { kind: string; id: string };
  amr: string[];
  auth_time: number;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  login_hint?: string;
  client?: { deviceidentifier?: string; tenantidentifier?: string; ownership?: string };
  inv?: string;
}

export const CLIENT_PARAMS = ['deviceidentifier', 'tenantidentifier', 'ownership'] as const;
export const MAX_CLAIM_LENGTH = 256;
export const MAX_TOKEN_BYTES = 4096;
