// Client-side builders: what a Windows device sends. Used by the device simulator and tests.
import { randomUUID } from 'node:crypto';
import {
  ACTION_DISCOVER,
  ACTION_GET_POLICIES,
  ACTION_RST_WSTEP,
  ADDRESSING_ANONYMOUS,
  ENCODING_BASE64_BINARY,
  NS_ADDRESSING,
  NS_AUTHORIZATION,
  NS_ENROLLMENT_DISCOVERY,
  NS_ENROLLMENT_POLICY,
  NS_SOAP12,
  NS_WSSE,
  NS_WS_TRUST,
  NS_XSD,
  NS_XSI,
  REQUEST_TYPE_ISSUE,
  TOKEN_TYPE_DEVICE_ENROLLMENT,
  VT_DEVICE_ENROLLMENT_USER_TOKEN,
  VT_PKCS10,
} from './constants.js';
import { xmlEscape } from './faults.js';

const newMessageId = () => `urn:uuid:${randomUUID()}`;

function addressingHeaders(action: string, messageId: string, to: string | undefined): string {
  return [
    `<a:Action s:mustUnderstand="1">${xmlEscape(action)}</a:Action>`,
    `<a:MessageID>${xmlEscape(messageId)}</a:MessageID>`,
    `<a:ReplyTo><a:Address>${ADDRESSING_ANONYMOUS}</a:Address></a:ReplyTo>`,
    to === undefined ? '' : `<a:To s:mustUnderstand="1">${xmlEscape(to)}</a:To>`,
  ].join('');
}

// Windows base64-encodes the wresult string exactly once and sends it as the BST text.
function securityHeader(token: string): string {
  const value = Buffer.from(token, 'utf8').toString('base64');
  return (
    `<wsse:Security s:mustUnderstand="1" xmlns:wsse="${NS_WSSE}">` +
    `<wsse:BinarySecurityToken ValueType="${VT_DEVICE_ENROLLMENT_USER_TOKEN}" EncodingType="${ENCODING_BASE64_BINARY}">` +
    `${value}</wsse:BinarySecurityToken>` +
    '</wsse:Security>'
  );
}

const envelopeOpen = `<s:Envelope xmlns:s="${NS_SOAP12}" xmlns:a="${NS_ADDRESSING}">`;

export interface GetPoliciesEnvelopeOptions {
  /** The wresult string the auth page handed to the device. */
  token: string;
  messageId?: string;
  to?: string;
}

export function buildGetPoliciesEnvelope(opts: GetPoliciesEnvelopeOptions): string {
  return [
    envelopeOpen,
    '<s:Header>',
    addressingHeaders(ACTION_GET_POLICIES, opts.messageId ?? newMessageId(), opts.to),
    securityHeader(opts.token),
    '</s:Header>',
    `<s:Body xmlns:xsi="${NS_XSI}" xmlns:xsd="${NS_XSD}">`,
    `<GetPolicies xmlns="${NS_ENROLLMENT_POLICY}">`,
    '<client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client>',
    '<requestFilter xsi:nil="true"/>',
    '</GetPolicies>',
    '</s:Body>',
    '</s:Envelope>',
  ].join('');
}

export interface EnrollEnvelopeOptions {
  token: string;
  deviceId: string;
  /** Extra ContextItems; may override EnrollmentType but never DeviceID. */
  additionalContext?: Record<string, string>;
  /** Base64 DER PKCS#10; the body BST is omitted when absent. */
  csrBase64?: string;
  messageId?: string;
  to?: string;
}

export function buildEnrollEnvelope(opts: EnrollEnvelopeOptions): string {
  const context: Record<string, string> = { EnrollmentType: 'Full', ...opts.additionalContext };
  delete context['DeviceID'];
  const items = [['DeviceID', opts.deviceId], ...Object.entries(context)]
    .map(([name, value]) => `<ac:ContextItem Name="${xmlEscape(name!)}"><ac:Value>${xmlEscape(value!)}</ac:Value></ac:ContextItem>`)
    .join('');
  const csr =
    opts.csrBase64 === undefined
      ? ''
      : `<wsse:BinarySecurityToken ValueType="${VT_PKCS10}" EncodingType="${ENCODING_BASE64_BINARY}" xmlns:wsse="${NS_WSSE}">` +
        `${xmlEscape(opts.csrBase64)}</wsse:BinarySecurityToken>`;
  return [
    envelopeOpen,
    '<s:Header>',
    addressingHeaders(ACTION_RST_WSTEP, opts.messageId ?? newMessageId(), opts.to),
    securityHeader(opts.token),
    '</s:Header>',
    '<s:Body>',
    `<wst:RequestSecurityToken xmlns:wst="${NS_WS_TRUST}">`,
    `<wst:TokenType>${TOKEN_TYPE_DEVICE_ENROLLMENT}</wst:TokenType>`,
    `<wst:RequestType>${REQUEST_TYPE_ISSUE}</wst:RequestType>`,
    csr,
    `<ac:AdditionalContext xmlns:ac="${NS_AUTHORIZATION}">${items}</ac:AdditionalContext>`,
    '</wst:RequestSecurityToken>',
    '</s:Body>',
    '</s:Envelope>',
  ].join('');
}

export interface DiscoverRequestOptions {
  email: string;
  messageId: string;
  requestVersion?: string;
  authPolicies?: string[];
  deviceType?: string;
  applicationVersion?: string;
  osEdition?: string;
  to?: string;
}

export function buildDiscoverRequest(opts: DiscoverRequestOptions): string {
  const policies = (opts.authPolicies ?? ['OnPremise', 'Federated'])
    .map((p) => `<AuthPolicy>${xmlEscape(p)}</AuthPolicy>`)
    .join('');
  return [
    envelopeOpen,
    '<s:Header>',
    addressingHeaders(ACTION_DISCOVER, opts.messageId, opts.to),
    '</s:Header>',
    '<s:Body>',
    `<Discover xmlns="${NS_ENROLLMENT_DISCOVERY}">`,
    '<request>',
    `<EmailAddress>${xmlEscape(opts.email)}</EmailAddress>`,
    `<RequestVersion>${xmlEscape(opts.requestVersion ?? '5.0')}</RequestVersion>`,
    `<DeviceType>${xmlEscape(opts.deviceType ?? 'CIMClient_Windows')}</DeviceType>`,
    `<ApplicationVersion>${xmlEscape(opts.applicationVersion ?? '10.0.22631.1')}</ApplicationVersion>`,
    `<OSEdition>${xmlEscape(opts.osEdition ?? '48')}</OSEdition>`,
    `<AuthPolicies>${policies}</AuthPolicies>`,
    '</request>',
    '</Discover>',
    '</s:Body>',
    '</s:Envelope>',
  ].join('');
}
