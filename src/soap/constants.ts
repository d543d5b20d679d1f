// Namespaces, SOAP Actions and ValueTypes of MS-MDE2 (see /work/shared/PROTOCOL.md).
// Parsing never compares namespaces (samples disagree on them); these are for building.

export const NS_SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
export const NS_ADDRESSING = 'http://www.w3.org/2005/08/addressing';
export const NS_WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const NS_WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const NS_WS_TRUST = 'http://docs.oasis-open.org/ws-sx/ws-trust/200512';
export const NS_AUTHORIZATION = 'http://schemas.xmlsoap.org/ws/2006/12/authorization';
export const NS_XSI = 'http://www.w3.org/2001/XMLSchema-instance';
export const NS_XSD = 'http://www.w3.org/2001/XMLSchema';
export const NS_DIAGNOSTICS = 'http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics';

/** Discovery namespace; the published Discover request sample adds a trailing slash. */
export const NS_ENROLLMENT_DISCOVERY = 'http://schemas.microsoft.com/windows/management/2012/01/enrollment';
export const NS_ENROLLMENT_POLICY = 'http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy';
export const NS_ENROLLMENT = 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment';

export const ACTION_DISCOVER = `${NS_ENROLLMENT_DISCOVERY}/IDiscoveryService/Discover`;
export const ACTION_DISCOVER_RESPONSE = `${NS_ENROLLMENT_DISCOVERY}/IDiscoveryService/DiscoverResponse`;
export const ACTION_GET_POLICIES = `${NS_ENROLLMENT_POLICY}/IPolicy/GetPolicies`;
export const ACTION_GET_POLICIES_RESPONSE = `${NS_ENROLLMENT_POLICY}/IPolicy/GetPoliciesResponse`;
export const ACTION_RST_WSTEP = `${NS_ENROLLMENT}/RST/wstep`;
export const ACTION_RSTRC_WSTEP = `${NS_ENROLLMENT}/RSTRC/wstep`;
export const ACTION_ADDRESSING_FAULT = `${NS_ADDRESSING}/soap/fault`;
export const ADDRESSING_ANONYMOUS = `${NS_ADDRESSING}/anonymous`;

/** Header BST ValueType for a federated (WAB) token: text = base64(wresult). */
export const VT_DEVICE_ENROLLMENT_USER_TOKEN =
  'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken';
/** Header BST ValueType used by Entra automatic enrollment: text = base64(JWT). */
export const VT_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const VT_PKCS10 = `${NS_ENROLLMENT}#PKCS10`;
export const VT_PKCS7 = `${NS_ENROLLMENT}#PKCS7`;
export const VT_PROVISION_DOC =
  'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc';

export const TOKEN_TYPE_DEVICE_ENROLLMENT =
  'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken';
export const REQUEST_TYPE_ISSUE = `${NS_WS_TRUST}/Issue`;

/** EncodingType Windows puts on the header BST (lower-case "base64binary" as sent). */
export const ENCODING_BASE64_BINARY = `${NS_WSSE}#base64binary`;
/** The WS-Security spelling, seen from AD FS as DRS issuer. */
export const ENCODING_BASE64_BINARY_SMS =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

export const AUTH_POLICIES = ['OnPremise', 'Federated', 'Certificate'] as const;
export type AuthPolicy = (typeof AUTH_POLICIES)[number];

export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';
