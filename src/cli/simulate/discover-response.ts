/** Reads a DiscoverResponse (or a SOAP fault) the way the Windows client does: by local names. */
import { soapParts, headerValue } from '../../soap/envelope.js';
import { childByLocalName, elementsByLocalName, firstByLocalName, parseXml, text } from '../../soap/xml.js';

export interface DiscoverResult {
  relatesTo: string | null;
  action: string | null;
  authPolicy: string | null;
  enrollmentVersion: string | null;
  enrollmentPolicyServiceUrl: string | null;
  enrollmentServiceUrl: string | null;
  authenticationServiceUrl: string | null;
}

export interface SoapFaultInfo {
  subcode: string | null;
  reason: string | null;
}

/** The fault in a SOAP envelope, or null when there is none. */
export function readSoapFault(xml: string): SoapFaultInfo | null {
  const { body } = soapParts(parseXml(xml).documentElement);
  const fault = childByLocalName(body, 'Fault');
  if (!fault) return null;
  const code = childByLocalName(fault, 'Code');
  const values = code ? elementsByLocalName(code, 'Value').map((v) => text(v)) : [];
  const reason = firstByLocalName(fault, 'Text');
  return { subcode: values[1] ?? values[0] ?? null, reason: reason ? text(reason) : null };
}

export function parseDiscoverResponse(xml: string): DiscoverResult {
  const { header, body } = soapParts(parseXml(xml).documentElement);
  const result = firstByLocalName(body, 'DiscoverResult');
  const field = (name: string) => {
    const el = result ? childByLocalName(result, name) : null;
    return el ? text(el) || null : null;
  };
  return {
    relatesTo: headerValue(header, 'RelatesTo'),
    action: headerValue(header, 'Action'),
    authPolicy: field('AuthPolicy'),
    enrollmentVersion: field('EnrollmentVersion'),
    enrollmentPolicyServiceUrl: field('EnrollmentPolicyServiceUrl'),
    enrollmentServiceUrl: field('EnrollmentServiceUrl'),
    authenticationServiceUrl: field('AuthenticationServiceUrl'),
  };
}
