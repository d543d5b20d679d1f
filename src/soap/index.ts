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
export { buildSoapFault, xmlEscape, type FaultCode, type SoapFaultOptions } from './faults.js';
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
