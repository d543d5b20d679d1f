import type { Element } from '@xmldom/xmldom';
import {
  ACTION_DISCOVER_RESPONSE,
  NS_ADDRESSING,
  NS_ENROLLMENT_DISCOVERY,
  NS_SOAP12,
  NS_XSD,
  NS_XSI,
} from './constants.js';
import { SOAP_XML_LIMITS, headerValue, soapParts } from './envelope.js';
import { activityIdHeader, xmlEscape } from './faults.js';
import { XmlError, childByLocalName, childElements, parseXml, text, type ParseXmlOptions } from './xml.js';

export interface DiscoverRequest {
  /** Trimmed but otherwise verbatim (the sample has "urn:uuid: 748132ec-..."); echo it in RelatesTo. */
  messageId: string;
  emailAddress: string | null;
  requestVersion: string | null;
  deviceType: string | null;
  applicationVersion: string | null;
  osEdition: string | null;
  authPolicies: string[];
}

/** Parses a Discover request by local names only (the sample's namespace has a trailing slash). */
export function parseDiscoverRequest(xml: string, opts?: ParseXmlOptions): DiscoverRequest {
  // The endpoint is unauthenticated: nesting and namespace limits are checked before parsing.
  const doc = parseXml(xml, { ...SOAP_XML_LIMITS, ...opts });
  const { header, body } = soapParts(doc.documentElement);
  const discover = childByLocalName(body, 'Discover');
  if (!discover) throw new XmlError('malformed', 'no Discover element in Body');
  const messageId = headerValue(header, 'MessageID');
  if (!messageId) throw new XmlError('malformed', 'Discover without MessageID');

  const request = childByLocalName(discover, 'request');
  const field = (name: string): string | null => {
    const el = request ? childByLocalName(request, name) : null;
    const value = el ? text(el) : '';
    return value === '' ? null : value;
  };
  return {
    messageId,
    emailAddress: field('EmailAddress'),
    requestVersion: field('RequestVersion'),
    deviceType: field('DeviceType'),
    applicationVersion: field('ApplicationVersion'),
    osEdition: field('OSEdition'),
    authPolicies: request ? readAuthPolicies(request) : [],
  };
}

function readAuthPolicies(request: Element): string[] {
  const list = childByLocalName(request, 'AuthPolicies');
  if (!list) return [];
  return childElements(list)
    .filter((el) => el.localName === 'AuthPolicy')
    .map((el) => text(el))
    .filter((v) => v !== '');
}

export interface DiscoverResponseOptions {
  relatesTo: string;
  /** Never OnPremise: it makes Windows send the password in plaintext. */
  authPolicy: 'Federated';
  enrollmentServiceUrl: string;
  enrollmentPolicyServiceUrl: string;
  authenticationServiceUrl: string;
  enrollmentVersion: string;
  activityId?: string;
}

export function buildDiscoverResponse(opts: DiscoverResponseOptions): string {
  const activity = opts.activityId === undefined ? '' : activityIdHeader(opts.activityId);
  const el = (name: string, value: string) => `<${name}>${xmlEscape(value)}</${name}>`;
  return [
    `<s:Envelope xmlns:s="${NS_SOAP12}" xmlns:a="${NS_ADDRESSING}">`,
    '<s:Header>',
    `<a:Action s:mustUnderstand="1">${ACTION_DISCOVER_RESPONSE}</a:Action>`,
    activity,
    `<a:RelatesTo>${xmlEscape(opts.relatesTo)}</a:RelatesTo>`,
    '</s:Header>',
    `<s:Body xmlns:xsi="${NS_XSI}" xmlns:xsd="${NS_XSD}">`,
    `<DiscoverResponse xmlns="${NS_ENROLLMENT_DISCOVERY}">`,
    '<DiscoverResult>',
    el('AuthPolicy', opts.authPolicy),
    el('EnrollmentVersion', opts.enrollmentVersion),
    el('EnrollmentPolicyServiceUrl', opts.enrollmentPolicyServiceUrl),
    el('EnrollmentServiceUrl', opts.enrollmentServiceUrl),
    el('AuthenticationServiceUrl', opts.authenticationServiceUrl),
    '</DiscoverResult>',
    '</DiscoverResponse>',
    '</s:Body>',
    '</s:Envelope>',
  ].join('');
}

export const MAX_ENROLLMENT_VERSION = '5.0';

const DOTTED_VERSION = /^\d+(?:\.\d+)*$/;

/** Negative, zero or positive like a comparator; components compared as integers. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The EnrollmentVersion to answer with: the configured one if set, else the lower of the
 * client's RequestVersion and 5.0 (we never claim more than the client asked for).
 */
export function pickEnrollmentVersion(requestVersion: string | null, configured?: string): string {
  const fixed = configured?.trim();
  if (fixed) return fixed;
  const requested = requestVersion?.trim() ?? '';
  if (!DOTTED_VERSION.test(requested) || requested.length > 32) return MAX_ENROLLMENT_VERSION;
  return compareVersions(requested, MAX_ENROLLMENT_VERSION) < 0 ? requested : MAX_ENROLLMENT_VERSION;
}
