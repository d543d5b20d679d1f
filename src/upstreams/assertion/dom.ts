/** Namespace-aware reading helpers for the assertion validator (no prefix is ever trusted). */
import type { Document, Element, Node } from '@xmldom/xmldom';
import { parseXml, XmlError } from '../../soap/xml.js';
import { assertionError } from './errors.js';

export const NS = {
  saml1: 'urn:oasis:names:tc:SAML:1.0:assertion',
  saml2: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  trust13: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
  trust2005: 'http://schemas.xmlsoap.org/ws/2005/02/trust',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsa: 'http://www.w3.org/2005/08/addressing',
  wsp2004: 'http://schemas.xmlsoap.org/ws/2004/09/policy',
  wsp15: 'http://www.w3.org/ns/ws-policy',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  fed: 'http://docs.oasis-open.org/wsfed/federation/200706',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

/** Default size limit of an IdP answer or a metadata document (AD FS answers with groups can pass 100 KiB). */
export const DEFAULT_MAX_BYTES = 512 * 1024;

const ELEMENT_NODE = 1;
const COMMENT_NODE = 8;

/** Strict parse (src/soap/xml.ts: DTD text refused before parsing, parser warnings fatal) mapped to our codes. */
export function parseStrict(text: string, maxBytes: number, what: 'assertion' | 'metadata'): Document {
  try {
    return parseXml(text, { maxBytes });
  } catch (err) {
    if (err instanceof XmlError) {
      if (what === 'metadata') throw assertionError('metadata_invalid', `metadata refused: ${err.code}`);
      if (err.code === 'too_large') throw assertionError('assertion_too_large', `answer larger than ${maxBytes} bytes`);
      if (err.code === 'dtd_refused') throw assertionError('assertion_dtd_refused', 'DOCTYPE or ENTITY in answer');
      throw assertionError('assertion_malformed', 'answer is not well-formed XML');
    }
    throw err;
  }
}

export function isElement(node: Node | null | undefined): node is Element {
  return !!node && node.nodeType === ELEMENT_NODE;
}

export function is(el: Element | null | undefined, ns: string, name: string): boolean {
  return !!el && el.namespaceURI === ns && el.localName === name;
}

export function children(el: Node, ns?: string, name?: string): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (!isElement(c)) continue;
    if (ns !== undefined && c.namespaceURI !== ns) continue;
    if (name !== undefined && c.localName !== name) continue;
    out.push(c);
  }
  return out;
}

/** Iterative pre-order walk of the descendants (deep nesting cannot overflow the stack). */
export function* descendants(root: Node): Generator<Node> {
  const stack: Node[] = [];
  for (let c = root.lastChild; c; c = c.previousSibling) stack.push(c);
  while (stack.length > 0) {
    const node = stack.pop()!;
    yield node;
    for (let c = node.lastChild; c; c = c.previousSibling) stack.push(c);
  }
}

export function descendantElements(root: Node, ns: string | null, name: string): Element[] {
  const out: Element[] = [];
  for (const n of descendants(root)) {
    if (isElement(n) && n.localName === name && (ns === null || n.namespaceURI === ns)) out.push(n);
  }
  return out;
}

export function hasComment(root: Node): boolean {
  for (const n of descendants(root)) if (n.nodeType === COMMENT_NODE) return true;
  return false;
}

/** An unqualified attribute (SAML, metadata and XML-DSig attributes are all unqualified). */
export function attr(el: Element, name: string): string | null {
  const a = el.getAttributeNodeNS(null, name);
  return a ? a.value : null;
}

/** All text of the element (every text node, so a comment or CDATA split cannot cut a value), trimmed. */
export function textOf(el: Element): string {
  return (el.textContent ?? '').trim();
}

/** Resolves a QName value (`fed:SecurityTokenServiceType`) against the element's in-scope namespaces. */
export function resolveQName(el: Element, qname: string): { ns: string | null; local: string } {
  const i = qname.indexOf(':');
  const prefix = i >= 0 ? qname.slice(0, i) : null;
  const local = i >= 0 ? qname.slice(i + 1) : qname;
  return { ns: el.lookupNamespaceURI(prefix), local };
}
