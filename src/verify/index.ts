/**
 * fedbridge/verify: the enrollment server's side of docs/verify.md. Give it whatever
 * arrived at your GetPolicies / Enroll endpoint (the whole SOAP envelope, the BST
 * value, or the bare token) and it runs the same checks as /introspect.
 *
 * Server-free on purpose (no koa, no SQLite): enrollment servers import it cheaply.
 */
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { checkExtracted, applyReplayRule, type ReplayStore, type ReplayOutcome } from './check.js';
import { extractToken, type ExtractResult, type MessageKind } from './extract.js';
import { claimsEntraIssuer, entraUpn, verifyEntraToken, type EntraClaims } from './entra.js';
import { defaultJwksUrl, resolveKeys } from './keys.js';
import { faultCodeFor, faultFor } from './fault.js';
import type { FedbridgeClaims } from '../tokens/claims.js';
import { MAX_TOKEN_LIFETIME_SECONDS, type TokenErrorCode } from '../tokens/verify.js';
import { SOAP_FAULT_HTTP_STATUS, type FaultCode, type FaultErrorType } from '../soap/faults.js';
import { REFUSALS, refusalDescription } from '../soap/refusals.js';
import { randomUUID } from 'node:crypto';

export type { ReplayStore, ReplayOutcome, MessageKind, FedbridgeClaims, EntraClaims, TokenErrorCode, FaultCode, FaultErrorType };
export { REFUSALS, buildRefusalFault } from '../soap/refusals.js';
export { SOAP_FAULT_HTTP_STATUS } from '../soap/faults.js';
export { FAULT_FOR_ERROR, faultCodeFor } from './fault.js';
export { MDM_SCOPE, entraIssuers } from './entra.js';
export { sqliteReplayStore, redisReplayStore, type ClosableReplayStore } from './stores.js';

export interface EntraVerifyOptions {
  /** Entra's JWKS (https://login.microsoftonline.com/common/discovery/v2.0/keys), a key set, or a resolver. */
  jwks: JSONWebKeySet | URL | JWTVerifyGetKey;
  /** Directory (tenant) ids whose tokens are accepted. Required and never a wildcard; [] accepts none. */
  tenantIds: string[];
  /** Your MDM application's audience (v1: its App ID URI; v2: its client id). */
  audience: string | string[];
}

export interface VerifyOptions {
  /** The Fedbridge publicUrl, exactly as configured (the `iss` of its tokens). */
  issuer: string;
  /** Remote JWKS URL; default `<issuer>/.well-known/jwks.json`. Fetched once and cached. */
  jwks?: string | URL;
  /** Local keys instead of a URL (a JWKS document, or a jose resolver). */
  keys?: JSONWebKeySet | JWTVerifyGetKey;
  /** Accepted `aud` values. Strongly advised: without it any Fedbridge audience passes. */
  audience?: string | string[];
  /** Accepted tenant ids (`tid`); a token of another tenant is `wrong_audience`, as at /introspect. */
  tenants?: string[];
  /** Enables the replay rule (once per enrollment); without it `replay` is 'unchecked'. */
  store?: ReplayStore;
  /** true: consume any input; false: never; default: an Enroll envelope consumes. */
  consume?: boolean;
  now?: () => number | Date;
  /**
   * Leeway for clocks that differ between hosts, on `exp`, `nbf` and `iat`: default 30 s,
   * at most 30 s (a larger value throws a TypeError). /introspect, on Fedbridge's own clock,
   * allows none on `exp` and 5 s on `nbf`/`iat`.
   */
  clockToleranceSeconds?: number;
  /**
   * Refuse (`expired`) a Fedbridge token whose lifetime (`exp - iat`, `exp - nbf`) is longer:
   * default 3600 s, the largest `tokens.ttlSeconds`. Set it to your Fedbridge's `tokens.ttlSeconds`.
   */
  maxLifetimeSeconds?: number;
  /** Also accept Entra ID's own MDM tokens (automatic enrollment). Off unless given. */
  entra?: EntraVerifyOptions;
}

interface Common {
  ok: true;
  upn: string;
  tid: string;
  message: MessageKind;
  /** The request's MessageID (echo it as RelatesTo), null when the input was not an envelope. */
  messageId: string | null;
  deviceId: string | null;
  additionalContext: Record<string, string>;
  replay: ReplayOutcome;
}

export type VerifySuccess = (Common & { kind: 'fedbridge'; claims: FedbridgeClaims }) | (Common & { kind: 'entra'; claims: EntraClaims });

export interface VerifyFailure {
  ok: false;
  error: TokenErrorCode;
  /** Fixed text per code (docs/enrollment-server.md, "Faults"): never any part of the input. */
  description: string;
  message: MessageKind;
  messageId: string | null;
  /** The MS-MDE2 fault subcode for this refusal (see FAULT_FOR_ERROR). */
  faultCode: FaultCode;
  /** The DeviceEnrollmentServiceError ErrorType of the fault. */
  errorType: FaultErrorType;
  /** The HTTP status to send the fault with (500, see SOAP_FAULT_HTTP_STATUS). */
  faultStatus: number;
  /**
   * The SOAP fault envelope to answer with. Pass your request id as `activityId` (it becomes the
   * ActivityId header and the TraceId, so a support call finds your log line); a string argument
   * is taken as RelatesTo (the request's MessageID is the default). Without an activityId a
   * random UUID is used.
   */
  fault(opts?: string | { relatesTo?: string; activityId?: string }): string;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

function failure(error: TokenErrorCode, message: MessageKind, messageId: string | null): VerifyFailure {
  return {
    ok: false,
    error,
    description: refusalDescription(error),
    message,
    messageId,
    faultCode: faultCodeFor(error),
    errorType: (REFUSALS[error] ?? REFUSALS.malformed).errorType,
    faultStatus: SOAP_FAULT_HTTP_STATUS,
    fault: (opts?: string | { relatesTo?: string; activityId?: string }) => {
      const o = typeof opts === 'string' ? { relatesTo: opts } : (opts ?? {});
      return faultFor(error, { relatesTo: o.relatesTo ?? messageId, activityId: o.activityId ?? randomUUID(), message });
    },
  };
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const MAX_CLOCK_TOLERANCE_SECONDS = 30;

function clockTolerance(options: VerifyOptions): number {
  const t = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw new TypeError(`options.clockToleranceSeconds must be between 0 and ${MAX_CLOCK_TOLERANCE_SECONDS}`);
  }
  return t;
}

function maxLifetime(options: VerifyOptions): number {
  const m = options.maxLifetimeSeconds ?? MAX_TOKEN_LIFETIME_SECONDS;
  if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0) throw new TypeError('options.maxLifetimeSeconds must be a positive number');
  return m;
}

function nowMs(options: VerifyOptions): number {
  const t = options.now ? options.now() : Date.now();
  return t instanceof Date ? t.getTime() : t;
}

/** Entra tokens come from an Entra BST, or (bare input) claim an Entra issuer; only when entra is configured. */
function isEntra(ex: ExtractResult & { ok: true }, options: VerifyOptions): boolean {
  if (!options.entra) return false;
  if (ex.tokenType === 'entra') return true;
  return ex.message === null && ex.messageId === null && claimsEntraIssuer(ex.token);
}

export async function verifyEnrollmentRequest(input: string, options: VerifyOptions): Promise<VerifyResult> {
  if (!options || typeof options.issuer !== 'string' || options.issuer === '') throw new TypeError('options.issuer is required');
  const tolerance = clockTolerance(options);
  const lifetime = maxLifetime(options);
  const now = nowMs(options);
  const ex = extractToken(input, { acceptEntra: !!options.entra });
  if (ex.ok && isEntra(ex, options)) return verifyEntra(ex, options, now, tolerance);

  // publicUrl never ends with a slash (the config refuses it), so a pasted "https://x/" still matches.
  const issuer = options.issuer.replace(/\/+$/, '');
  const keys = resolveKeys(options.keys ?? options.jwks ?? defaultJwksUrl(issuer));
  const tenants = options.tenants;
  const r = await checkExtracted(ex, {
    keys,
    issuer,
    now,
    audience: options.audience,
    tenantAllowed: tenants ? (tid) => tenants.includes(tid) : undefined,
    expLeewaySeconds: tolerance,
    nbfLeewaySeconds: tolerance,
    maxLifetimeSeconds: lifetime,
    store: options.store,
    consume: options.consume,
  });
  if (!r.active) return failure(r.error, r.message, r.messageId);
  return {
    ok: true,
    kind: 'fedbridge',
    upn: r.claims.upn,
    tid: r.claims.tid,
    claims: r.claims,
    message: r.message,
    messageId: r.messageId,
    deviceId: r.deviceId,
    additionalContext: r.additionalContext,
    replay: r.replay,
  };
}

async function verifyEntra(ex: ExtractResult & { ok: true }, options: VerifyOptions, now: number, tolerance: number): Promise<VerifyResult> {
  const entra = options.entra!;
  const v = await verifyEntraToken(ex.token, {
    keys: resolveKeys(entra.jwks),
    tenantIds: entra.tenantIds ?? [],
    audience: entra.audience,
    now,
    clockToleranceSeconds: tolerance,
  });
  if (!v.ok) return failure(v.error, ex.message, ex.messageId);
  const c = v.claims;
  // The same once-per-enrollment rule, keyed by Entra's token id when it has one.
  const id = c.uti ?? c.jti;
  let replay: ReplayOutcome = 'unchecked';
  if (id && typeof c.exp === 'number') {
    const shouldConsume = options.consume ?? ex.message === 'Enroll';
    const r = await applyReplayRule(options.store, { jti: `entra:${c.tid}:${id}`, exp: c.exp }, shouldConsume, ex.deviceId, now, ex.message);
    if (r === 'replayed') return failure('replayed', ex.message, ex.messageId);
    replay = r;
  }
  return {
    ok: true,
    kind: 'entra',
    upn: entraUpn(c)!,
    tid: c.tid,
    claims: c,
    message: ex.message,
    messageId: ex.messageId,
    deviceId: ex.deviceId,
    additionalContext: ex.additionalContext,
    replay,
  };
}
