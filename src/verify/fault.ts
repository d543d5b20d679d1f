/**
 * Which MS-MDE2 SOAP fault an enrollment server sends back for each refusal: the mapping is
 * the one table in src/soap/refusals.ts (docs/enrollment-server.md, "Faults"), shared with
 * Discovery.svc. The reason text is fixed per code (never the input).
 */
import type { FaultCode } from '../soap/faults.js';
import { REFUSALS, buildRefusalFault } from '../soap/refusals.js';
import type { TokenErrorCode } from '../tokens/verify.js';
import type { MessageKind } from './extract.js';

export const FAULT_FOR_ERROR: Readonly<Record<TokenErrorCode, FaultCode>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(REFUSALS) as (keyof typeof REFUSALS)[]).map((code) => [code, REFUSALS[code].subcode]),
  ) as Record<TokenErrorCode, FaultCode>,
);

export function faultCodeFor(error: TokenErrorCode): FaultCode {
  return (REFUSALS[error] ?? REFUSALS.malformed).subcode;
}

export interface FaultOptions {
  /** RelatesTo; defaults to the request's MessageID. */
  relatesTo?: string | null;
  /** ActivityId and TraceId: your request id (the one in your log line). */
  activityId: string;
  /** What was refused (decides the Action). */
  message: MessageKind;
}

/** The SOAP 1.2 fault envelope for a refusal. */
export function faultFor(error: TokenErrorCode, opts: FaultOptions): string {
  return buildRefusalFault(error, { relatesTo: opts.relatesTo ?? null, activityId: opts.activityId, request: opts.message });
}
