import type { AssertionErrorCode } from './upstreams/assertion/errors.js';

/**
 * The closed set of refusal codes (docs/errors.md). What JSON clients, pages and tests match
 * on; adding one is a reviewed change here, with its meaning. The assertion kinds' codes live
 * beside their validator (src/upstreams/assertion/errors.ts) and are part of this set.
 */
export const ERROR_CODES = {
  // The request itself
  invalid_request: 'the request is malformed or lacks a required value',
  request_too_large: 'the body, query string or headers are over their limit',
  unsupported_media_type: 'the body has a content type this route does not read',
  method_not_allowed: 'the route exists, but not for this HTTP method',
  not_found: 'no such page or route',
  // The auth window
  missing_appru: 'the window gave no appru',
  invalid_appru: 'appru is not ms-app://<name> nor an allow-listed address',
  unknown_state: 'the sign-in is unknown, expired, already finished, or not for this route',
  unknown_tenant: 'no such tenant',
  tenant_mismatch: "an address of another tenant was entered in a sign-in whose tenant is fixed",
  tenant_not_allowed: 'the introspection client may not see this tenant',
  upn_not_in_tenant: "the user name's domain is not one of the tenant's domains",
  invalid_upn: 'not a user name of the form name@domain',
  // Policy
  hint_mismatch: 'the signed-in user is not the login_hint user',
  groups_unavailable: 'the IdP did not say which groups the user is in',
  not_in_group: 'the user is in none of the allowed groups',
  mfa_required: 'the IdP did not report multi-factor authentication',
  // Invitations
  invitation_required: 'this tenant enrolls by invitation only',
  invitation_invalid: 'the accesstoken is not an invitation',
  invitation_expired: 'the invitation has expired',
  invitation_used: 'the invitation was used already',
  invitation_other_tenant: 'the invitation belongs to another tenant',
  invitation_other_user: 'the invitation is for another user',
  invalid_ttl: 'an invitation lifetime out of range',
  invalid_ownership: 'ownership is not 1, 2 or 3',
  invalid_servername: 'servername is not a usable URL',
  servername_required: 'a deep link needs a servername (none given, and this service serves no discovery)',
  // Limits
  too_many_requests: 'too many sign-ins started from this network',
  too_many_attempts: 'too many failed passwords for this user or from this network',
  server_busy: 'the password check queue is full; retry shortly',
  // Upstream IdPs
  upstream_error: 'the IdP answered with an error or something unreadable',
  upstream_unreachable: 'the IdP could not be reached in time',
  upstream_denied: 'the IdP refused the sign-in',
  upstream_invalid_token: "the IdP's token failed validation",
  upstream_missing_claim: "the IdP's answer lacks the user name",
  // Machine clients
  unauthorized: 'missing or wrong credentials',
  invalid_client: 'unknown introspection client or wrong secret',
  invalid_token: 'the token given is not usable',
  forbidden: 'the caller may not do this',
  // Admins
  conflict: 'the change clashes with what exists (an id or domain taken, a config-file tenant changed through the API)',
  invalid_logo: 'the logo is not a PNG, JPEG or SVG of at most 512 KiB',
  csrf_failed: 'the form did not come from the console itself (missing or wrong CSRF token, or a cross-site post)',
  precondition_failed: 'the If-Match version is not the current one: someone else changed it first (read it again)',
  // The service
  not_ready: 'the store or the keys are not ready',
  store_unavailable: 'the store (SQLite or Redis) cannot be reached; retry shortly',
  server_error: "the service's own fault",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES | AssertionErrorCode;

/**
 * One error tree for the whole service. Every refusal carries an HTTP status,
 * a stable machine code (what JSON clients and tests match on) and a message key
 * (what the branded page shows, translated). Only 4xx errors expose their detail.
 */
export class FedbridgeError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly messageKey: string;
  readonly expose: boolean;
  /** Extra values for the message template (never secrets). */
  readonly params: Record<string, string>;
  /** Seconds after which a retry may succeed (429, 503): sent as `Retry-After` and shown on the page. */
  retryAfter?: number;

  constructor(status: number, code: ErrorCode, detail?: string, params: Record<string, string> = {}, messageKey?: string) {
    super(detail ?? code);
    this.name = 'FedbridgeError';
    this.status = status;
    this.code = code;
    this.messageKey = messageKey ?? `error.${code}`;
    this.expose = status < 500;
    this.params = params;
  }
}

export const badRequest = (code: ErrorCode, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(400, code, detail, params);
export const unauthorized = (code: ErrorCode, detail?: string) => new FedbridgeError(401, code, detail);
export const forbidden = (code: ErrorCode, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(403, code, detail, params);
export const notFound = (code: ErrorCode, detail?: string) => new FedbridgeError(404, code, detail);
export const conflict = (code: ErrorCode, detail?: string) => new FedbridgeError(409, code, detail);
export const tooManyRequests = (code: ErrorCode, detail?: string, retryAfter?: number) =>
  withRetryAfter(new FedbridgeError(429, code, detail), retryAfter);
/** The service is briefly overloaded (e.g. the password-hashing queue is full); nothing is wrong with the request. */
export const serviceUnavailable = (code: ErrorCode, detail?: string, retryAfter?: number) =>
  withRetryAfter(new FedbridgeError(503, code, detail), retryAfter);
export const upstreamError = (code: ErrorCode, detail?: string, params?: Record<string, string>) =>
  new FedbridgeError(502, code, detail, params);
export const internalError = (detail?: string) => new FedbridgeError(500, 'server_error', detail);

function withRetryAfter(err: FedbridgeError, seconds: number | undefined): FedbridgeError {
  if (seconds !== undefined) err.retryAfter = Math.max(1, Math.ceil(seconds));
  return err;
}

export function isFedbridgeError(err: unknown): err is FedbridgeError {
  return err instanceof FedbridgeError;
}
