/**
 * The one enrollment check shared by /introspect, `fedbridge token verify` and the
 * fedbridge/verify library: extract → verify → replay rule (contract §3).
 */
import type { FedbridgeClaims } from '../tokens/claims.js';
import { verifyFedbridgeToken, type FedbridgeVerifyOptions, type TokenErrorCode } from '../tokens/verify.js';
import { extractToken, type ExtractResult, type MessageKind } from './extract.js';
import type { ConsumeResult } from '../store/types.js';

/** The part of the store the replay rule needs. */
export interface ReplayStore {
  consumedBy(jti: string, now: number): Promise<string | null>;
  consumeToken(jti: string, deviceId: string, expiresAt: number, now: number): Promise<ConsumeResult>;
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
  | { active: false; error: TokenErrorCode; description: string; message: MessageKind; messageId: string | null };

export async function applyReplayRule(
  store: ReplayStore | undefined,
  claims: { jti: string; exp: number },
  shouldConsume: boolean,
  deviceId: string | null,
  now: number,
): Promise<ReplayOutcome | 'replayed'> {
  if (!store) return 'unchecked';
  if (!shouldConsume) return (await store.consumedBy(claims.jti, now)) === null ? 'fresh' : 'replayed';
  const r = await store.consumeToken(claims.jti, deviceId ?? '', claims.exp * 1000, now);
  return r;
}

export async function checkEnrollmentInput(input: string, opts: CheckOptions): Promise<CheckResult> {
  return checkExtracted(extractToken(input), opts);
}

/** The same check on an input already extracted (fedbridge/verify extracts once to route Entra tokens). */
export async function checkExtracted(ex: ExtractResult, opts: CheckOptions): Promise<CheckResult> {
  if (!ex.ok) return { active: false, error: ex.error, description: ex.description, message: ex.message, messageId: ex.messageId };
  const refuse = (error: TokenErrorCode, description: string): CheckResult =>
    ({ active: false, error, description, message: ex.message, messageId: ex.messageId });

  const v = await verifyFedbridgeToken(ex.token, opts);
  if (!v.ok) return refuse(v.error, v.description);

  const shouldConsume = opts.consume ?? ex.message === 'Enroll';
  const replay = await applyReplayRule(opts.store, v.claims, shouldConsume, ex.deviceId, opts.now);
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
