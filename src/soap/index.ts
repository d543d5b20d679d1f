export * from './constants.js';
export {
  XmlError,
  parseXml,
  elementsByLocalName,
  firstByLocalName,
  childElements,
  childByLocalName,
  attrByLocalName,
  text,
  DEFAULT_MAX_XML_BYTES,
  type XmlErrorCode,
  type ParseXmlOptions,
} from './xml.js';
export {
  parseEnrollmentEnvelope,
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
