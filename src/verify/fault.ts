/**
 * Which MS-MDE2 SOAP fault an enrollment server sends back for each refusal.
 * The reason text is fixed per code (never the input), so nothing a caller sent is reflected.
 *
 *   malformed                                   → s:MessageFormat   (the request or its token cannot be read)
 *   wrong_token_type                            → a:InvalidSecurity (a Security header token we do not accept)
 *   bad_signature, expired, not_yet_valid,
 *   replayed                                    → s:Authentication  (the user must sign in again)
 *   wrong_audience, unknown_tenant,
 *   insufficient_scope                          → s:Authorization   (signed in, but not allowed here)
 */
import { buildSoapFault, type FaultCode } from '../soap/faults.js';
import type { TokenErrorCode } from '../tokens/verify.js';

export const FAULT_FOR_ERROR: Readonly<Record<TokenErrorCode, FaultCode>> = {
  malformed: 's:MessageFormat',
  wrong_token_type: 'a:InvalidSecurity',
  bad_signature: 's:Authentication',
  expired: 's:Authentication',
  not_yet_valid: 's:Authentication',
  replayed: 's:Authentication',
  wrong_audience: 's:Authorization',
  unknown_tenant: 's:Authorization',
  insufficient_scope: 's:Authorization',
};

const REASON: Readonly<Record<TokenErrorCode, string>> = {
  malformed: 'The enrollment request or its security token could not be read.',
  wrong_token_type: 'The security token type is not accepted by this enrollment server.',
  bad_signature: 'The enrollment token could not be verified. Sign in again.',
  expired: 'The enrollment token has expired. Sign in again.',
  not_yet_valid: 'The enrollment token is not valid yet. Check the device clock and sign in again.',
  replayed: 'The enrollment token was already used. Sign in again.',
  wrong_audience: 'The enrollment token was issued for another service.',
  unknown_tenant: 'The organization of this account is not served by this enrollment server.',
  insufficient_scope: 'The token does not grant device management enrollment.',
};

export function faultCodeFor(error: TokenErrorCode): FaultCode {
  return FAULT_FOR_ERROR[error] ?? 's:MessageFormat';
}

/** The SOAP 1.2 fault envelope for a refusal; relatesTo is the request's MessageID. */
export function faultFor(error: TokenErrorCode, relatesTo?: string | null): string {
  return buildSoapFault({
    code: faultCodeFor(error),
    reason: REASON[error] ?? REASON.malformed,
    ...(relatesTo ? { relatesTo } : {}),
  });
}
