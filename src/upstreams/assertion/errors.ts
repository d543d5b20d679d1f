/**
 * The closed set of codes the assertion validator refuses with (docs/assertions.md).
 * Every refusal of an IdP answer is a 4xx (docs/assertions.md: a forged, replayed or mismatched
 * answer ends in a 4xx page); the page shows the existing "could not be verified" text.
 * A broken metadata document is the IdP's (or the set-up's) fault: 502.
 */
import { FedbridgeError } from '../../errors.js';

export const ASSERTION_ERROR_CODES = [
  /** The answer is larger than the size limit. */
  'assertion_too_large',
  /** The answer carries a DOCTYPE or an entity declaration (refused before parsing). */
  'assertion_dtd_refused',
  /** Not well-formed XML, an unknown envelope shape, a missing or duplicated required element, a comment in the assertion. */
  'assertion_malformed',
  /** The answer holds no assertion. */
  'assertion_missing',
  /** More than one assertion, or the assertion is not where the envelope says (signature wrapping). */
  'assertion_ambiguous',
  /** The assertion carries no signature of its own. */
  'assertion_unsigned',
  /** An algorithm outside the allowed set: SHA-1, non-exclusive c14n, other transforms. */
  'assertion_unsupported_algorithm',
  /** The signature does not verify against any trusted (metadata) certificate, or does not cover the assertion. */
  'assertion_invalid_signature',
  /** The Issuer is not the expected IdP (when the caller names one). */
  'assertion_wrong_issuer',
  /** No Audience equal to the expected value. */
  'assertion_wrong_audience',
  /** Past NotOnOrAfter (plus the clock skew). */
  'assertion_expired',
  /** Before NotBefore or issued in the future (minus the clock skew). */
  'assertion_not_yet_valid',
  /** The SubjectConfirmationData Recipient names another address. */
  'assertion_wrong_recipient',
  /** This assertion ID was accepted before. */
  'assertion_replayed',
  /** Federation or SAML metadata that cannot be used (no signing certificate, wrong shape). */
  'metadata_invalid',
] as const;

export type AssertionErrorCode = (typeof ASSERTION_ERROR_CODES)[number];

/**
 * The detail goes to the log only (4xx details are exposed in JSON, so it never carries
 * input from the answer beyond fixed words).
 */
export function assertionError(code: AssertionErrorCode, detail: string): FedbridgeError {
  if (code === 'metadata_invalid') {
    return new FedbridgeError(502, code, detail, {}, 'error.upstream_error');
  }
  return new FedbridgeError(400, code, detail, {}, 'error.upstream_invalid_token');
}
