import { ACTION_ADDRESSING_FAULT, NS_ADDRESSING, NS_DIAGNOSTICS, NS_ENROLLMENT, NS_SOAP12, NS_WSSE } from './constants.js';

/** MS-MDE2 2.2.10 fault subcodes. */
export type FaultCode =
  | 's:MessageFormat'
  | 's:Authentication'
  | 's:Authorization'
  | 's:CertificateRequest'
  | 's:EnrollmentServer'
  | 's:InternalServiceFault'
  | 'a:InvalidSecurity';

/** MS-MDE2 DeviceEnrollmentServiceError ErrorType values (PROTOCOL.md §7). */
export type FaultErrorType =
  | 'DeviceCapReached'
  | 'DeviceNotSupported'
  | 'NotSupported'
  | 'NotEligibleToRenew'
  | 'InMaintenance'
  | 'UserLicense'
  | 'InvalidEnrollmentData';

/**
 * Every SOAP fault is answered with this HTTP status (docs/enrollment-server.md, "Faults"): SOAP
 * 1.2's HTTP binding gives 500 to env:Receiver faults, which all but one of ours are, and the WCF
 * servers MS-MDE2 describes answer every fault with 500.
 */
export const SOAP_FAULT_HTTP_STATUS = 500;

export interface SoapFaultOptions {
  code: FaultCode;
  reason: string;
  /** The request's MessageID, echoed verbatim. */
  relatesTo?: string;
  /** Defaults to the WS-Addressing fault action; see faultActionFor (refusals.ts). */
  action?: string;
  lang?: string;
  /** ActivityId header (and its CorrelationId): the request id of the log line. */
  activityId?: string;
  /** Detail/DeviceEnrollmentServiceError, written when errorType is given. */
  errorType?: FaultErrorType;
  /** DeviceEnrollmentServiceError/Message; defaults to the reason. */
  message?: string;
  /** DeviceEnrollmentServiceError/TraceId; defaults to the activityId. */
  traceId?: string;
}

// MS 2.2.10's sample pairs s:Receiver with an MS-MDE2 subcode even for authorization
// failures, so all "s:" subcodes follow it. InvalidSecurity is a WS-Security fault about
// the sender's header, where WCF (which MS-MDE2 servers are modelled on) uses s:Sender.
const TOP_CODE: Record<FaultCode, 's:Receiver' | 's:Sender'> = {
  's:MessageFormat': 's:Receiver',
  's:Authentication': 's:Receiver',
  's:Authorization': 's:Receiver',
  's:CertificateRequest': 's:Receiver',
  's:EnrollmentServer': 's:Receiver',
  's:InternalServiceFault': 's:Receiver',
  'a:InvalidSecurity': 's:Sender',
};

// Doubt: MS-MDE2 2.2.10 lists "a:InvalidSecurity" without binding "a". In the sample
// envelope "a" is WS-Addressing, but WS-Addressing defines no InvalidSecurity fault;
// WS-Security 1.0 does (wsse:InvalidSecurity), and WCF emits it as "a:InvalidSecurity"
// with xmlns:a bound to the secext namespace on the Value element. We do the same, so the
// QName resolves correctly while the text stays "a:InvalidSecurity" for clients that
// compare strings.
function subcodeValue(code: FaultCode): string {
  if (code === 'a:InvalidSecurity') return `<s:Value xmlns:a="${NS_WSSE}">${code}</s:Value>`;
  return `<s:Value>${code}</s:Value>`;
}

/** An ActivityId header in the form Fleet's and Mattrax's servers send (docs/enrollment-server.md). */
export function activityIdHeader(activityId: string): string {
  const id = xmlEscape(activityId);
  return `<ActivityId CorrelationId="${id}" xmlns="${NS_DIAGNOSTICS}">${id}</ActivityId>`;
}

/** A SOAP 1.2 fault envelope in the MS-MDE2 2.2.10 shape, with its Detail when errorType is given. */
export function buildSoapFault(opts: SoapFaultOptions): string {
  const { code, reason, relatesTo, action = ACTION_ADDRESSING_FAULT, lang = 'en-US', activityId, errorType } = opts;
  const top = TOP_CODE[code];
  if (!top) throw new TypeError(`unknown SOAP fault code: ${String(code)}`);
  const traceId = opts.traceId ?? activityId ?? '';
  const detail =
    errorType === undefined
      ? ''
      : '<s:Detail>' +
        `<DeviceEnrollmentServiceError xmlns="${NS_ENROLLMENT}">` +
        `<ErrorType>${xmlEscape(errorType)}</ErrorType>` +
        `<Message>${xmlEscape(opts.message ?? reason)}</Message>` +
        `<TraceId>${xmlEscape(traceId)}</TraceId>` +
        '</DeviceEnrollmentServiceError>' +
        '</s:Detail>';
  return [
    `<s:Envelope xmlns:s="${NS_SOAP12}" xmlns:a="${NS_ADDRESSING}">`,
    '<s:Header>',
    `<a:Action s:mustUnderstand="1">${xmlEscape(action)}</a:Action>`,
    activityId === undefined ? '' : activityIdHeader(activityId),
    relatesTo === undefined ? '' : `<a:RelatesTo>${xmlEscape(relatesTo)}</a:RelatesTo>`,
    '</s:Header>',
    '<s:Body><s:Fault>',
    `<s:Code><s:Value>${top}</s:Value><s:Subcode>${subcodeValue(code)}</s:Subcode></s:Code>`,
    `<s:Reason><s:Text xml:lang="${xmlEscape(lang)}">${xmlEscape(reason)}</s:Text></s:Reason>`,
    detail,
    '</s:Fault></s:Body>',
    '</s:Envelope>',
  ].join('');
}

// Characters XML 1.0 cannot carry at all (controls, lone surrogates, U+FFFE/U+FFFF);
// escaping cannot help, so they become "?" to keep the output well-formed. Not U+FFFD:
// xmldom warns on it, and parseXml treats every warning as fatal.
const XML_INVALID_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes & < > " ' for element text and attribute values alike. */
export function xmlEscape(s: string): string {
  return String(s)
    .replace(XML_INVALID_CHARS, '?')
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
