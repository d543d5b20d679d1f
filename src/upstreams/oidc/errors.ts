/**
 * Turning what can go wrong with an OIDC provider into the service's errors. The page shows
 * a stable code; details (never token contents) go to the log through the error's message.
 */
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';
import { FedbridgeError } from '../../errors.js';

/** Authorization errors that mean "the person (or their organization) said no". */
const DENIALS = new Set([
  'access_denied',
  'consent_required',
  'login_required',
  'interaction_required',
  'account_selection_required',
  'unmet_authentication_requirements',
]);

/**
 * Refusals that a new sign-in can get past: the IdP's own sign-in session or interaction ended
 * mid-flow (`login_required`, `interaction_required`), or the code expired or was lost before the
 * exchange (`invalid_grant`, e.g. an IdP shedding state under load). Their page says when to try
 * again (Retry-After, docs/errors.md); a person's or an admin's "no" (`access_denied`,
 * `consent_required`, unmet requirements) does not.
 */
const RETRYABLE_DENIALS = new Set(['login_required', 'interaction_required', 'invalid_grant']);
export const DENIED_RETRY_AFTER_SECONDS = 5;

function denied(status: number, detail: string, reason: string): FedbridgeError {
  const err = new FedbridgeError(status, 'upstream_denied', detail, { reason });
  if (RETRYABLE_DENIALS.has(reason)) err.retryAfter = DENIED_RETRY_AFTER_SECONDS;
  return err;
}

/** OAuth error codes are [\x20-\x7e] by spec; keep only a short, plain word for the page. */
function reasonOf(error: unknown): string {
  return typeof error === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(error) ? error : 'error';
}

/** An error the callback carried (`?error=…`), or null when it carried none. */
export function callbackError(params: Record<string, string>): FedbridgeError | null {
  if (params.error === undefined) return null;
  const reason = reasonOf(params.error);
  return DENIALS.has(reason)
    ? denied(403, `identity provider answered ${reason}`, reason)
    : new FedbridgeError(502, 'upstream_error', `identity provider answered ${reason}`, { reason });
}

/** A FedbridgeError we threw ourselves (from the fetch), wherever openid-client wrapped it. */
export function ownError(err: unknown): FedbridgeError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof FedbridgeError) return e;
  }
  return null;
}

/** openid-client codes that mean the ID token (or the token response carrying it) is not acceptable. */
const INVALID_TOKEN_CODES = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_PARSE_ERROR',
  'OAUTH_UNSUPPORTED_OPERATION',
]);

export function isUnknownKey(err: unknown): boolean {
  return err instanceof ClientError && err.code === 'OAUTH_KEY_SELECTION_FAILED';
}

/** Maps a failure of the code exchange and ID token validation. */
export function exchangeError(err: unknown): FedbridgeError {
  const own = ownError(err);
  if (own) return own;
  if (err instanceof ResponseBodyError) {
    const reason = reasonOf(err.error);
    // invalid_grant: the code expired, was used, or its PKCE verifier does not match: start again.
    return reason === 'invalid_grant'
      ? denied(400, `token endpoint answered ${reason}`, reason)
      : new FedbridgeError(502, 'upstream_error', `token endpoint answered ${reason} (check clientId, secret or key)`, { reason });
  }
  if (err instanceof AuthorizationResponseError) return callbackError({ error: String(err.error) })!;
  const code = (err as { code?: string }).code ?? '';
  const cause = (err as { cause?: { message?: string } }).cause?.message;
  const detail = `${(err as Error).message}${cause ? `: ${cause}` : ''}`;
  if (INVALID_TOKEN_CODES.has(code)) return new FedbridgeError(502, 'upstream_invalid_token', `ID token refused: ${detail}`);
  return new FedbridgeError(502, 'upstream_error', `token exchange failed: ${code} ${detail}`);
}
