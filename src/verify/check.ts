/**
 * The one enrollment check shared by /introspect, `fedbridge token verify` and the
 * fedbridge/verify library: extract → verify → replay rule (docs/enrollment-server.md).
 */
import type { FedbridgeClaims } from '../tokens/claims.js';
import { verifyFedbridgeToken, type FedbridgeVerifyOptions, type TokenErrorCode } from '../tokens/verify.js';
import { extractToken, type ExtractResult, type MessageKind } from './extract.js';
import type { ConsumeResult } from '../store/types.js';
import { refusalDescription } from '../soap/refusals.js';

/** The part of the store the replay rule needs. */
export interface ReplayStore {
  /** `issuedAt` (the token's iat, epoch ms) lets the store fail closed after losing its state (docs/operations.md). */
  consumedBy(jti: string, now: number, issuedAt?: number): Promise<string | null>;
  consumeToken(jti: string, deviceId: string, expiresAt: number, now: number, issuedAt?: number): Promise<ConsumeResult>;
}

export type ReplayOutcome = 'unchecked' | 'fresh' | 'consumed' | 'retry';

export interface CheckOptions extends FedbridgeVerifyOptions {
  store?: ReplayStore;
  /** true: consume any input; false: never consume; undefined: an Enroll envelope consumes. */
  consume?: boolean;
}

export type CheckResult =
  | {
      active: true;
      claims: FedbridgeClaims;
      message: MessageKind;
      messageId: string | null;
      deviceId: string | null;
      additionalContext: Record<string, string>;
      replay: ReplayOutcome;
    }
  | {
      active: false;
      error: TokenErrorCode;
      /** Fixed text per code (src/soap/refusals.ts): what callers may show. */
      description: string;
      /** What exactly failed, for the debug log only (never the input). */
      detail: string;
      message: MessageKind;
      messageId: string | null;
    };

/**
 * How long a consumed marker outlives the token's `exp`. fedbridge/verify accepts a token up to
 * its clock tolerance (at most 30 s) past `exp`, and instances sharing a store may count time on
 * clocks that differ: a marker dropped at `exp` would let a consumed token enroll another device
 * in that window. Five minutes is well above any tolerance or skew we accept.
 */
export const REPLAY_MARKER_GRACE_SECONDS = 300;

/**
 * docs/enrollment-server.md's replay rule, in one place for /introspect and fedbridge/verify.
 * A GetPolicies that does not ask to consume is valid for the whole token lifetime, before and
 * after the Enroll consumed it (a device retrying a failed enrollment repeats GetPolicies first):
 * it answers 'fresh' before consumption and 'retry' after. Any other non-consuming check after
 * consumption is `replayed`. A consume binds the token to the DeviceID (same DeviceID = 'retry').
 */
export async function applyReplayRule(
  store: ReplayStore | undefined,
  claims: { jti: string; exp: number; iat?: number },
  shouldConsume: boolean,
  deviceId: string | null,
  now: number,
  message: MessageKind = null,
): Promise<ReplayOutcome | 'replayed'> {
  if (!store) return 'unchecked';
  const issuedAt = claims.iat === undefined ? undefined : claims.iat * 1000;
  if (!shouldConsume) {
    const consumed = (await store.consumedBy(claims.jti, now, issuedAt)) !== null;
    if (!consumed) return 'fresh';
    return message === 'GetPolicies' ? 'retry' : 'replayed';
  }
  return store.consumeToken(claims.jti, deviceId ?? '', (claims.exp + REPLAY_MARKER_GRACE_SECONDS) * 1000, now, issuedAt);
}

export async function checkEnrollmentInput(input: string, opts: CheckOptions): Promise<CheckResult> {
  return checkExtracted(extractToken(input), opts);
}

/** The same check on an input already extracted (fedbridge/verify extracts once to route Entra tokens). */
export async function checkExtracted(ex: ExtractResult, opts: CheckOptions): Promise<CheckResult> {
  const refuse = (error: TokenErrorCode, detail: string): CheckResult =>
    ({ active: false, error, description: refusalDescription(error), detail, message: ex.message, messageId: ex.messageId });
  if (!ex.ok) return refuse(ex.error, ex.description);

  const v = await verifyFedbridgeToken(ex.token, opts);
  if (!v.ok) return refuse(v.error, v.description);

  const shouldConsume = opts.consume ?? ex.message === 'Enroll';
  const replay = await applyReplayRule(opts.store, v.claims, shouldConsume, ex.deviceId, opts.now, ex.message);
  if (replay === 'replayed') return refuse('replayed', 'the token was already used for an enrollment');
  return {
    active: true,
    claims: v.claims,
    message: ex.message,
    messageId: ex.messageId,
    deviceId: ex.deviceId,
    additionalContext: ex.additionalContext,
    replay,
  };
}
