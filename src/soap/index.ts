export * from './constants.js';
export {
  XmlError,
  parseXml,
  elementsByLocalName,
  firstByLocalName,
  descendantElements,
  childElements,
  childByLocalName,
  attrByLocalName,
  text,
  DEFAULT_MAX_XML_BYTES,
  DEFAULT_XML_LIMITS,
  type XmlErrorCode,
  type ParseXmlOptions,
  type XmlLimits,
} from './xml.js';
export {
  parseEnrollmentEnvelope,
  SOAP_XML_LIMITS,
  decodeBase64Strict,
  looksLikeJwt,
  type EnrollmentEnvelope,
  type BinarySecurityToken,
} from './envelope.js';
export { buildSoapFault, activityIdHeader, xmlEscape, SOAP_FAULT_HTTP_STATUS, type FaultCode, type FaultErrorType, type SoapFaultOptions } from './faults.js';
export { REFUSALS, buildRefusalFault, faultActionFor, refusalDescription, type Refusal, type RefusalCode, type RefusalFaultOptions } from './refusals.js';
export {
  parseDiscoverRequest,
  buildDiscoverResponse,
  pickEnrollmentVersion,
  MAX_ENROLLMENT_VERSION,
  type DiscoverRequest,
  type DiscoverResponseOptions,
} from './discovery.js';
export {
  buildGetPoliciesEnvelope,
  buildEnrollEnvelope,
  buildDiscoverRequest,
  type GetPoliciesEnvelopeOptions,
  type EnrollEnvelopeOptions,
  type DiscoverRequestOptions,
} from './build.js';
