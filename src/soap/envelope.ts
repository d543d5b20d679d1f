import type { Element } from '@xmldom/xmldom';
import { VT_DEVICE_ENROLLMENT_USER_TOKEN, VT_JWT } from './constants.js';
import {
  XmlError,
  attrByLocalName,
  childByLocalName,
  childElements,
  descendantElements,
  elementsByLocalName,
  parseXml,
  text,
  type ParseXmlOptions,
  type XmlLimits,
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

/**
 * Splits a parsed document into Envelope / Header / Body by local name. The Envelope holds an
 * optional Header, then one Body, and nothing else (SOAP 1.2): with two Bodies or Headers, a
 * reader taking the last would see another message than one taking the first.
 */
export function soapParts(envelope: Element | null): SoapParts {
  if (!envelope || envelope.localName !== 'Envelope') throw new XmlError('malformed', 'not a SOAP Envelope');
  const children = childElements(envelope);
  const names = children.map((c) => c.localName).join(' ');
  if (names !== 'Body' && names !== 'Header Body') {
    throw new XmlError('malformed', children.some((c) => c.localName === 'Body') ? 'a SOAP Envelope holds one Header and one Body, nothing else' : 'SOAP Envelope without Body');
  }
  return { envelope, header: children.length === 2 ? children[0]! : null, body: children.at(-1)! };
}

/** A WS-Addressing header value (Action, MessageID, To...), trimmed; null when absent. */
export function headerValue(header: Element | null, name: string): string | null {
  const el = header ? childByLocalName(header, name) : null;
  return el ? text(el) : null;
}

/**
 * Limits for MS-MDE2 messages (Discover, GetPolicies, Enroll), checked before parsing. A real
 * Enroll request nests 6 deep and holds under 10 namespace declarations, 60 elements, 40
 * attributes and a handful of references; these leave four times that room or more, and keep
 * the dearest accepted body within a few times a plain one of the same size (the parser's cost
 * is per node, bench/xml-amplification.js).
 */
export const SOAP_XML_LIMITS = {
  maxDepth: 32,
  maxNamespaceDeclarations: 64,
  maxNodes: 256,
  maxAttributes: 256,
  maxReferences: 256,
} as const satisfies XmlLimits;

/**
 * Parses a GetPolicies or RST (Enroll) request without judging its tokens.
 *
 * What the message is comes from its Body alone, never from the WS-Addressing Action
 * (docs/enrollment-server.md): a sender chooses the Action, and an MDM that routes on it must not be able
 * to make an Enroll pass for a GetPolicies. A Body with a RequestSecurityToken anywhere is an
 * Enroll; a Body with a GetPolicies element and nothing of an Enroll is a GetPolicies; a Body
 * that is neither says null. Anything ambiguous is refused as malformed (XmlError).
 */
export function parseEnrollmentEnvelope(xml: string, opts?: ParseXmlOptions): EnrollmentEnvelope {
  const doc = parseXml(xml, { ...SOAP_XML_LIMITS, ...opts });
  const { header, body } = soapParts(doc.documentElement);
  refuseStrayCredentials(doc.documentElement!);
  refuseCaseVariants(doc.documentElement!);
  if (header) refuseMessagePartsIn(header);
  const { message, rst } = messageKind(body);
  const additionalContext = rst ? readAdditionalContext(body, rst) : {};
  return {
    message,
    messageId: headerValue(header, 'MessageID'),
    tokens: header ? readHeaderTokens(header) : [],
    deviceId: additionalContext['DeviceID'] ?? null,
    additionalContext,
  };
}

// The names that decide what a message is and which device it enrolls.
const DECISIVE_NAMES = ['RequestSecurityToken', 'AdditionalContext', 'ContextItem', 'GetPolicies', 'BinarySecurityToken'];
const DECISIVE_LOWER = new Map(DECISIVE_NAMES.map((n) => [n.toLowerCase(), n]));

/**
 * XML names are case-sensitive, but an MDM may match them case-insensitively: to such a reader a
 * `requestsecuritytoken` beside a `GetPolicies` makes an Enroll we would take for a GetPolicies
 * (never consumed). An element whose local name equals a decisive name but for case is refused.
 */
function refuseCaseVariants(envelope: Element): void {
  for (const el of descendantElements(envelope)) {
    const name = el.localName ?? '';
    const exact = DECISIVE_LOWER.get(name.toLowerCase());
    if (exact !== undefined && exact !== name) throw new XmlError('malformed', 'an element name differs from an MS-MDE2 name only by case');
  }
}

// What only an Enroll (WS-Trust RST) carries; none of it may appear in a GetPolicies.
const ENROLL_PARTS = new Set(['AdditionalContext', 'ContextItem', 'BinarySecurityToken', 'TokenType', 'RequestType']);

function messageKind(body: Element): { message: EnrollmentEnvelope['message']; rst: Element | null } {
  const rsts: Element[] = [];
  const getPolicies: Element[] = [];
  let enrollPart = false;
  for (const el of descendantElements(body)) {
    const name = el.localName ?? '';
    if (name === 'RequestSecurityToken') rsts.push(el);
    else if (name === 'GetPolicies') getPolicies.push(el);
    else if (ENROLL_PARTS.has(name) || name.startsWith('RequestSecurityToken')) enrollPart = true;
  }
  if (rsts.length > 1) throw new XmlError('malformed', 'more than one RequestSecurityToken in the Body');
  if (rsts.length === 1) {
    if (getPolicies.length > 0) throw new XmlError('malformed', 'the Body carries both a GetPolicies and a RequestSecurityToken');
    return { message: 'Enroll', rst: rsts[0]! };
  }
  if (enrollPart) throw new XmlError('malformed', 'parts of an Enroll in a Body without RequestSecurityToken');
  if (getPolicies.length > 1) throw new XmlError('malformed', 'more than one GetPolicies in the Body');
  return { message: getPolicies.length === 1 ? 'GetPolicies' : null, rst: null };
}

/** The Header carries addressing and security only: a message part there is a decoy. */
function refuseMessagePartsIn(header: Element): void {
  for (const el of descendantElements(header)) {
    const name = el.localName ?? '';
    if (name === 'GetPolicies' || name.startsWith('RequestSecurityToken') || (ENROLL_PARTS.has(name) && name !== 'BinarySecurityToken')) {
      throw new XmlError('malformed', 'parts of a GetPolicies or Enroll in the Header');
    }
  }
}

const CREDENTIAL_TYPES = new Set([VT_DEVICE_ENROLLMENT_USER_TOKEN, VT_JWT]);

/** A user token BST anywhere but Header/Security is a decoy for readers that search the whole message. */
function refuseStrayCredentials(envelope: Element): void {
  for (const bst of elementsByLocalName(envelope, 'BinarySecurityToken')) {
    if (!CREDENTIAL_TYPES.has((attrByLocalName(bst, 'ValueType') ?? '').trim())) continue;
    const security = bst.parentNode;
    const header = security?.parentNode;
    const inSecurityHeader = security?.localName === 'Security' && header?.localName === 'Header' && header.parentNode === envelope;
    if (!inSecurityHeader) throw new XmlError('malformed', 'a user token outside the Security header');
  }
}

const TEXT_NODE = 3;

/** The element's content when it is character data only (no element, comment or CDATA), trimmed. */
function textOnly(el: Element, what: string): string {
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType !== TEXT_NODE) throw new XmlError('malformed', `${what} must hold text only`);
  }
  return text(el);
}

// Only Header/Security/BinarySecurityToken counts: the Body's PKCS#10 BST is a CSR, not a credential.
// Its content must be plain text: a reader that takes the first text node, or skips comments
// and CDATA differently, must not see another token than we do.
function readHeaderTokens(header: Element): BinarySecurityToken[] {
  const tokens: BinarySecurityToken[] = [];
  for (const security of childElements(header)) {
    if (security.localName !== 'Security') continue;
    for (const bst of childElements(security)) {
      if (bst.localName !== 'BinarySecurityToken') continue;
      tokens.push({
        valueType: (attrByLocalName(bst, 'ValueType') ?? '').trim(),
        encodingType: attrByLocalName(bst, 'EncodingType')?.trim() ?? null,
        value: textOnly(bst, 'a BinarySecurityToken'),
      });
    }
  }
  return tokens;
}

/**
 * The RST's own AdditionalContext (a direct child), and no other anywhere in the Body: a decoy
 * placed elsewhere is refused, not skipped, since an MDM reading the first one in document
 * order would enroll another device than the one the token is bound to. Within it, the first
 * value of a repeated item wins (Windows repeats MAC), except DeviceID, which must be unique.
 */
function readAdditionalContext(body: Element, rst: Element): Record<string, string> {
  const contexts = elementsByLocalName(body, 'AdditionalContext');
  if (contexts.length === 0) return {};
  if (contexts.length > 1) throw new XmlError('malformed', 'more than one AdditionalContext');
  const context = contexts[0]!;
  if (context.parentNode !== rst) throw new XmlError('malformed', 'the AdditionalContext is not the RequestSecurityToken\'s own');
  const own = childElements(context);
  if (elementsByLocalName(body, 'ContextItem').some((item) => item.parentNode !== context)) {
    throw new XmlError('malformed', 'a ContextItem outside the AdditionalContext');
  }
  const items = new Map<string, string>();
  let deviceIds = 0;
  for (const item of own) {
    if (item.localName !== 'ContextItem') continue;
    const name = contextItemName(item);
    const isDeviceId = name === 'DeviceID';
    // Counted without regard to case: a reader matching "deviceid" must not find a second one.
    if (name?.toLowerCase() === 'deviceid' && ++deviceIds > 1) throw new XmlError('malformed', 'more than one DeviceID');
    if (!name || items.has(name)) continue;
    const values = childElements(item).filter((v) => v.localName === 'Value');
    if (isDeviceId && values.length !== 1) throw new XmlError('malformed', 'a DeviceID needs exactly one Value');
    const value = values[0];
    items.set(name, value ? (isDeviceId ? textOnly(value, 'the DeviceID') : text(value)) : '');
  }
  // fromEntries defines own properties, so a "__proto__" item stays plain data.
  return Object.fromEntries(items);
}

/** A ContextItem's Name, refused when written twice (Name and p:Name): readers would disagree. */
function contextItemName(item: Element): string | undefined {
  let names = 0;
  const attrs = item.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs.item(i);
    if (a && a.localName === 'Name' && a.prefix !== 'xmlns') names++;
  }
  if (names > 1) throw new XmlError('malformed', 'a ContextItem with two Name attributes');
  return attrByLocalName(item, 'Name')?.trim();
}

// Strict decoders for token text. Node's own base64 decoder silently skips bad
// characters and tolerates sloppy padding, so every check here is explicit.

const XML_WHITESPACE = /[ \t\r\n]/g;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

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
  // Three base64url segments, the first two non-empty, in one pass (this runs on every
  // /introspect request).
  if (typeof s !== 'string' || !COMPACT_JWS.test(s)) return false;
  const header = s.slice(0, s.indexOf('.'));
  if (header.length % 4 === 1) return false; // impossible base64 length
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}
