/**
 * The one table of refusals an enrollment request can get (docs/enrollment-server.md, "Faults"):
 * for each stable code, the MS-MDE2 fault subcode, the DeviceEnrollmentServiceError ErrorType,
 * and the fixed text used as /introspect's `error_description`, fedbridge/verify's
 * `description` and the fault's Reason and Message. The text never carries input.
 */
import type { TokenErrorCode } from '../tokens/verify.js';
import { buildSoapFault, type FaultCode, type FaultErrorType } from './faults.js';
import { ACTION_ADDRESSING_FAULT, ACTION_DISCOVER_RESPONSE, ACTION_GET_POLICIES_RESPONSE, ACTION_RSTRC_WSTEP } from './constants.js';

/** Token refusals (docs/enrollment-server.md) plus what only Discovery.svc refuses. */
export type RefusalCode = TokenErrorCode | 'federated_not_offered' | 'unsupported_media_type' | 'request_too_large' | 'server_error';

export interface Refusal {
  subcode: FaultCode;
  errorType: FaultErrorType;
  description: string;
}

export const REFUSALS: Readonly<Record<RefusalCode, Refusal>> = {
  malformed: {
    subcode: 's:MessageFormat',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment request or its security token could not be read.',
  },
  wrong_token_type: {
    subcode: 'a:InvalidSecurity',
    errorType: 'NotSupported',
    description: 'The security token type is not accepted by this enrollment server.',
  },
  bad_signature: {
    subcode: 's:Authentication',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment token could not be verified. Sign in again.',
  },
  expired: {
    subcode: 's:Authentication',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment token has expired. Sign in again.',
  },
  not_yet_valid: {
    subcode: 's:Authentication',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment token is not valid yet. Check the device clock and sign in again.',
  },
  replayed: {
    subcode: 's:Authentication',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment token was already used. Sign in again.',
  },
  wrong_audience: {
    subcode: 's:Authorization',
    errorType: 'InvalidEnrollmentData',
    description: 'The enrollment token was issued for another service.',
  },
  unknown_tenant: {
    subcode: 's:Authorization',
    errorType: 'InvalidEnrollmentData',
    description: 'The organization of this account is not served by this enrollment server.',
  },
  insufficient_scope: {
    subcode: 's:Authorization',
    errorType: 'UserLicense',
    description: 'The token does not grant device management enrollment.',
  },
  federated_not_offered: {
    subcode: 's:EnrollmentServer',
    errorType: 'NotSupported',
    description: 'This enrollment service supports federated sign-in only, and the device did not offer it.',
  },
  unsupported_media_type: {
    subcode: 's:MessageFormat',
    errorType: 'InvalidEnrollmentData',
    description: 'The request is not a SOAP 1.2 message (Content-Type: application/soap+xml).',
  },
  request_too_large: {
    subcode: 's:MessageFormat',
    errorType: 'InvalidEnrollmentData',
    description: 'The request is larger than an enrollment message can be.',
  },
  server_error: {
    subcode: 's:InternalServiceFault',
    errorType: 'InMaintenance',
    description: 'The enrollment service could not answer. Try again later.',
  },
};

/** The fixed text for a code; an unknown code gets malformed's. */
export function refusalDescription(code: RefusalCode): string {
  return (REFUSALS[code] ?? REFUSALS.malformed).description;
}

/** The Action of a fault answering this request: the response Action of the request's type. */
export function faultActionFor(request: 'Discover' | 'GetPolicies' | 'Enroll' | null): string {
  switch (request) {
    case 'Discover':
      return ACTION_DISCOVER_RESPONSE;
    case 'GetPolicies':
      return ACTION_GET_POLICIES_RESPONSE;
    case 'Enroll':
      return ACTION_RSTRC_WSTEP;
    default:
      return ACTION_ADDRESSING_FAULT;
  }
}

export interface RefusalFaultOptions {
  /** The request's MessageID, echoed as RelatesTo. */
  relatesTo?: string | null;
  /** The request id of the log line; ActivityId, CorrelationId and TraceId. */
  activityId: string;
  /** What the refused request was (decides the Action); null when unknown. */
  request?: 'Discover' | 'GetPolicies' | 'Enroll' | null;
  lang?: string;
}

/** The SOAP fault for a refusal code: subcode, ErrorType and text from REFUSALS. */
export function buildRefusalFault(code: RefusalCode, opts: RefusalFaultOptions): string {
  const r = REFUSALS[code] ?? REFUSALS.malformed;
  return buildSoapFault({
    code: r.subcode,
    reason: r.description,
    errorType: r.errorType,
    message: r.description,
    traceId: opts.activityId,
    activityId: opts.activityId,
    action: faultActionFor(opts.request ?? null),
    ...(opts.relatesTo ? { relatesTo: opts.relatesTo } : {}),
    ...(opts.lang ? { lang: opts.lang } : {}),
  });
}
