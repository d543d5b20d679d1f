import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';

export type XmlErrorCode = 'malformed' | 'dtd_refused' | 'too_large';

export class XmlError extends Error {
  readonly code: XmlErrorCode;

  constructor(code: XmlErrorCode, detail?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'XmlError';
    this.code = code;
  }
}

export interface ParseXmlOptions {
  /** Upper bound on the UTF-8 size of the input; default 256 KiB. */
  maxBytes?: number;
}

export const DEFAULT_MAX_XML_BYTES = 256 * 1024;

const ELEMENT_NODE = 1;
const PROCESSING_INSTRUCTION_NODE = 7;

// No legitimate MS-MDE2 message carries a DTD; refusing the text outright (even inside
// comments or CDATA) closes XXE and entity expansion without trusting the parser.
const DTD_PATTERN = /<!(?:DOCTYPE|ENTITY)/i;

/**
 * Parses untrusted XML. Any parser complaint (even a warning) is fatal, and the only
 * error that ever leaves this function is an XmlError.
 */
export function parseXml(text: string, opts: ParseXmlOptions = {}): Document {
  if (typeof text !== 'string' || text.length === 0) throw new XmlError('malformed', 'empty input');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  // Cheap pre-check first: UTF-8 never uses fewer bytes than UTF-16 code units.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new XmlError('too_large', `more than ${maxBytes} bytes`);
  }
  if (DTD_PATTERN.test(text)) throw new XmlError('dtd_refused');

  // A leading byte-order mark would make xmldom reject the XML declaration.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let doc: Document;
  try {
    const parser = new DOMParser({
      locator: false,
      onError: (level, msg) => {
        throw new XmlError('malformed', `${level}: ${String(msg).split('\n')[0]}`);
      },
    });
    doc = parser.parseFromString(source, 'text/xml');
  } catch (err) {
    if (err instanceof XmlError) throw err;
    const cause = (err as { cause?: unknown } | null)?.cause;
    if (cause instanceof XmlError) throw cause;
    const msg = err instanceof Error ? err.message.split('\n')[0] : 'parse failed';
    throw new XmlError('malformed', msg);
  }
  if (!doc || !doc.documentElement) throw new XmlError('malformed', 'no root element');
  refuseProcessingInstructions(doc);
  return doc;
}

/** Only the XML declaration (first node of the document) is allowed. */
function refuseProcessingInstructions(doc: Document): void {
  const first = doc.firstChild;
  for (const node of walk(doc)) {
    if (node.nodeType !== PROCESSING_INSTRUCTION_NODE) continue;
    const isDeclaration = node === first && node.nodeName === 'xml';
    if (!isDeclaration) throw new XmlError('malformed', 'processing instruction refused');
  }
}

/** Iterative pre-order walk of all descendants (no recursion: deep nesting is allowed). */
function* walk(root: Node): Generator<Node> {
  const stack: Node[] = [];
  for (let c = root.lastChild; c; c = c.previousSibling) stack.push(c);
  while (stack.length > 0) {
    const node = stack.pop()!;
    yield node;
    for (let c = node.lastChild; c; c = c.previousSibling) stack.push(c);
  }
}

function isElement(node: Node | null): node is Element {
  return node !== null && node.nodeType === ELEMENT_NODE;
}

/** Descendant elements (not root itself) with this local name, in document order. */
export function elementsByLocalName(root: Node, name: string): Element[] {
  const out: Element[] = [];
  for (const node of walk(root)) {
    if (isElement(node) && node.localName === name) out.push(node);
  }
  return out;
}

export function firstByLocalName(root: Node, name: string): Element | null {
  for (const node of walk(root)) {
    if (isElement(node) && node.localName === name) return node;
  }
  return null;
}

export function childElements(el: Node): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (isElement(c)) out.push(c);
  return out;
}

/** First direct child element with this local name. */
export function childByLocalName(el: Node, name: string): Element | null {
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (isElement(c) && c.localName === name) return c;
  }
  return null;
}

/**
 * Attribute value by local name, prefix ignored (`ValueType` or `wsse:ValueType`).
 * An unprefixed attribute wins over a prefixed one, so the answer never depends on
 * attribute order. Namespace declarations are never matched.
 */
export function attrByLocalName(el: Element, name: string): string | null {
  let prefixed: string | null = null;
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs.item(i);
    if (!a || a.localName !== name) continue;
    if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
    if (!a.prefix) return a.value;
    prefixed ??= a.value;
  }
  return prefixed;
}

/** textContent, trimmed (the published samples pad values with newlines and indentation). */
export function text(el: Node): string {
  return (el.textContent ?? '').trim();
}
