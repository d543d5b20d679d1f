import type { Element } from '@xmldom/xmldom';
import {
  XmlError,
  attrByLocalName,
  childByLocalName,
  childElements,
  elementsByLocalName,
  parseXml,
  text,
  type ParseXmlOptions,
} from './xml.js';

export interface BinarySecurityToken {
  valueType: string;
  encodingType: string | null;
  /** Element text, trimmed; still base64 (see decodeBase64Strict). */
  value: string;
}

export interface EnrollmentEnvelope {
  message: 'GetPolicies' | 'Enroll' | null;
  messageId: string | null;
  /** Header Security BSTs only, every ValueType kept (callers decide what to accept). */
  tokens: BinarySecurityToken[];
  deviceId: string | null;
  additionalContext: Record<string, string>;
}

export interface SoapParts {
  envelope: Element;
  header: Element | null;
  body: Element;
}

/** Splits a parsed document into Envelope / Header / Body by local name. */
export function soapParts(envelope: Element | null): SoapParts {
  if (!envelope || envelope.localName !== 'Envelope') throw new XmlError('malformed', 'not a SOAP Envelope');
  const body = childByLocalName(envelope, 'Body');
  if (!body) throw new XmlError('malformed', 'SOAP Envelope without Body');
  return { envelope, header: childByLocalName(envelope, 'Header'), body };
}

/** A WS-Addressing header value (Action, MessageID, To...), trimmed; null when absent. */
export function headerValue(header: Element | null, name: string): string | null {
  const el = header ? childByLocalName(header, name) : null;
  return el ? text(el) : null;
}

/** Parses a GetPolicies or RST (Enroll) request without judging its tokens. */
export function parseEnrollmentEnvelope(xml: string, opts?: ParseXmlOptions): EnrollmentEnvelope {
  const doc = parseXml(xml, opts);
  const { header, body } = soapParts(doc.documentElement);
  const additionalContext = readAdditionalContext(body);
  return {
    message: messageKind(headerValue(header, 'Action'), body),
    messageId: headerValue(header, 'MessageID'),
    tokens: header ? readHeaderTokens(header) : [],
    deviceId: additionalContext['DeviceID'] ?? null,
    additionalContext,
  };
}

function messageKind(action: string | null, body: Element): EnrollmentEnvelope['message'] {
  if (action?.endsWith('IPolicy/GetPolicies')) return 'GetPolicies';
  if (action?.endsWith('RST/wstep')) return 'Enroll';
  const first = childElements(body)[0];
  if (first?.localName === 'GetPolicies') return 'GetPolicies';
  if (first?.localName === 'RequestSecurityToken') return 'Enroll';
  return null;
}

// Only Header/Security/BinarySecurityToken counts: the Body's PKCS#10 BST is a CSR, not a credential.
function readHeaderTokens(header: Element): BinarySecurityToken[] {
  const tokens: BinarySecurityToken[] = [];
  for (const security of childElements(header)) {
    if (security.localName !== 'Security') continue;
    for (const bst of childElements(security)) {
      if (bst.localName !== 'BinarySecurityToken') continue;
      tokens.push({
        valueType: (attrByLocalName(bst, 'ValueType') ?? '').trim(),
        encodingType: attrByLocalName(bst, 'EncodingType')?.trim() ?? null,
        value: text(bst),
      });
    }
  }
  return tokens;
}

// First occurrence of a Name wins, so a repeated DeviceID cannot override the first one.
function readAdditionalContext(body: Element): Record<string, string> {
  const items = new Map<string, string>();
  for (const context of elementsByLocalName(body, 'AdditionalContext')) {
    for (const item of childElements(context)) {
      if (item.localName !== 'ContextItem') continue;
      const name = attrByLocalName(item, 'Name')?.trim();
      if (!name || items.has(name)) continue;
      const value = childByLocalName(item, 'Value');
      items.set(name, value ? text(value) : '');
    }
  }
  // fromEntries defines own properties, so a "__proto__" item stays plain data.
  return Object.fromEntries(items);
}

// Strict decoders for token text. Node's own base64 decoder silently skips bad
// characters and tolerates sloppy padding, so every check here is explicit.

const XML_WHITESPACE = /[ \t\r\n]/g;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes standard, padded base64 (no base64url), after removing XML white space
 * anywhere (Windows and the samples wrap BST text). Returns null for anything else,
 * including empty input (there is no empty token) and non-canonical trailing bits.
 */
export function decodeBase64Strict(input: string): Buffer | null {
  if (typeof input !== 'string') return null;
  const compact = input.replace(XML_WHITESPACE, '');
  if (compact.length === 0 || compact.length % 4 !== 0) return null;
  if (!STANDARD_BASE64.test(compact)) return null;
  const bytes = Buffer.from(compact, 'base64');
  // Re-encoding must give the input back: rejects "QR==" style unused-bit tricks.
  if (bytes.toString('base64') !== compact) return null;
  return bytes;
}

/**
 * Three dot-separated base64url segments whose first one decodes to a JSON object.
 * Shape only: says nothing about validity. An empty signature (alg "none") still
 * looks like a JWT so the verifier can refuse it by name.
 */
export function looksLikeJwt(s: string): boolean {
  if (typeof s !== 'string') return false;
  const parts = s.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts as [string, string, string];
  if (header.length === 0 || payload.length === 0) return false;
  if (![header, payload, signature].every((p) => BASE64URL_SEGMENT.test(p))) return false;
  if (header.length % 4 === 1) return false; // impossible base64 length
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}
