import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';

export type XmlErrorCode = 'malformed' | 'dtd_refused' | 'too_large';

export class XmlError extends Error {
  readonly code: XmlErrorCode;
  /**
   * The parser's own complaint, for logs only: it may quote the input (a tag or entity name),
   * so it never goes into `message`, which callers may show to whoever sent the XML.
   */
  readonly parserMessage: string | undefined;

  constructor(code: XmlErrorCode, detail?: string, parserMessage?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'XmlError';
    this.code = code;
    this.parserMessage = parserMessage;
  }
}

const NOT_WELL_FORMED = 'not well-formed XML';

export interface ParseXmlOptions {
  /** Upper bound on the UTF-8 size of the input; default 256 KiB. */
  maxBytes?: number;
  /** Deepest element nesting accepted (the root is depth 1); default 64. */
  maxDepth?: number;
  /** Namespace declarations (`xmlns`, `xmlns:p`) accepted in the whole document; default 512. */
  maxNamespaceDeclarations?: number;
  /** Elements, comments and CDATA sections accepted in the whole document; default 20000. */
  maxNodes?: number;
  /** Attributes (namespace declarations included) accepted in the whole document; default 20000. */
  maxAttributes?: number;
  /** Entity and character references (`&amp;`, `&#65;`) accepted in the whole document; default 20000. */
  maxReferences?: number;
}

export const DEFAULT_MAX_XML_BYTES = 256 * 1024;

export type XmlLimits = Required<Omit<ParseXmlOptions, 'maxBytes'>>;

/**
 * Generous defaults, for any caller: SAML and WS-Federation documents (federation metadata
 * declares a namespace on every ClaimType) stay well inside them. Depth and namespace
 * declarations stop the parser's superlinear cost: its work per element grows with depth, and
 * every element that declares a namespace copies the whole map in scope. The counts bound the
 * rest, which is linear but costs a node (or more) per few bytes: comments, attributes and
 * references are each 10 to 60 times dearer than plain text of the same size
 * (bench/xml-amplification.js).
 */
export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxDepth: 64,
  maxNamespaceDeclarations: 512,
  maxNodes: 20_000,
  maxAttributes: 20_000,
  maxReferences: 20_000,
};

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
  prescan(text, {
    maxDepth: opts.maxDepth ?? DEFAULT_XML_LIMITS.maxDepth,
    maxNamespaceDeclarations: opts.maxNamespaceDeclarations ?? DEFAULT_XML_LIMITS.maxNamespaceDeclarations,
    maxNodes: opts.maxNodes ?? DEFAULT_XML_LIMITS.maxNodes,
    maxAttributes: opts.maxAttributes ?? DEFAULT_XML_LIMITS.maxAttributes,
    maxReferences: opts.maxReferences ?? DEFAULT_XML_LIMITS.maxReferences,
  });

  // A leading byte-order mark would make xmldom reject the XML declaration.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let doc: Document;
  try {
    const parser = new DOMParser({
      locator: false,
      onError: (level, msg) => {
        throw new XmlError('malformed', NOT_WELL_FORMED, `${level}: ${String(msg).split('\n')[0]}`);
      },
    });
    doc = parser.parseFromString(source, 'text/xml');
  } catch (err) {
    if (err instanceof XmlError) throw err;
    const cause = (err as { cause?: unknown } | null)?.cause;
    if (cause instanceof XmlError) throw cause;
    const msg = err instanceof Error ? err.message.split('\n')[0] : 'parse failed';
    throw new XmlError('malformed', NOT_WELL_FORMED, msg);
  }
  if (!doc || !doc.documentElement) throw new XmlError('malformed', 'no root element');
  refuseProcessingInstructions(doc);
  return doc;
}

// Sticky patterns applied at a known position: each consumes what it matches once, so the
// whole scan is linear in the input (no pattern can backtrack past where it started).
const TAG_NAME = /[^ \t\r\n/>]+/y;
const ATTRIBUTE = /[ \t\r\n]+([^ \t\r\n=/>]+)[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*')/y;
const TAG_END = /[ \t\r\n]*(\/?)>/y;
const XML_DECLARATION = /<\?xml[ \t\r\n]/y;

/**
 * One linear pass over the markup, before the parser sees it: counts nesting depth, nodes,
 * attributes, namespace declarations and references, and stops at the first limit crossed.
 * It skips over comments and CDATA, and reads quoted attribute values whole, so a `<` or `>`
 * inside them is never taken for markup. It need not judge well-formedness (the parser does);
 * it refuses only what it cannot read as a tag, and processing instructions (only the XML
 * declaration is allowed), which the parser, or the check after it, would refuse too.
 */
function prescan(xml: string, limits: XmlLimits): void {
  let depth = 0;
  let nodes = 0;
  let attributes = 0;
  let namespaces = 0;
  const declarationAt = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const tooMany = (what: string, max: number) => new XmlError('malformed', `more than ${max} ${what}`);
  const skipTo = (from: number, terminator: string): number => {
    const end = xml.indexOf(terminator, from);
    if (end < 0) throw new XmlError('malformed', 'unterminated markup');
    return end + terminator.length;
  };

  let references = 0;
  for (let r = xml.indexOf('&'); r >= 0; r = xml.indexOf('&', r + 1)) {
    if (++references > limits.maxReferences) throw tooMany('entity or character references', limits.maxReferences);
  }

  let i = xml.indexOf('<');
  while (i >= 0) {
    if (xml.startsWith('<!--', i)) {
      if (++nodes > limits.maxNodes) throw tooMany('nodes', limits.maxNodes);
      i = skipTo(i + 4, '-->');
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (++nodes > limits.maxNodes) throw tooMany('nodes', limits.maxNodes);
      i = skipTo(i + 9, ']]>');
    } else if (xml.startsWith('<?', i)) {
      XML_DECLARATION.lastIndex = i;
      if (i !== declarationAt || !XML_DECLARATION.test(xml)) throw new XmlError('malformed', 'processing instruction refused');
      i = skipTo(i + 2, '?>');
    } else if (xml.startsWith('<!', i)) {
      throw new XmlError('malformed', 'markup declaration refused');
    } else if (xml.startsWith('</', i)) {
      if (--depth < 0) throw new XmlError('malformed', 'end tag without start tag');
      i = skipTo(i + 2, '>');
    } else {
      TAG_NAME.lastIndex = i + 1;
      if (!TAG_NAME.test(xml)) throw new XmlError('malformed', 'unreadable start tag');
      let at = TAG_NAME.lastIndex;
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const attr = ATTRIBUTE.exec(xml);
        if (!attr) break;
        if (++attributes > limits.maxAttributes) throw tooMany('attributes', limits.maxAttributes);
        const name = attr[1]!;
        if ((name === 'xmlns' || name.startsWith('xmlns:')) && ++namespaces > limits.maxNamespaceDeclarations) {
          throw tooMany('namespace declarations', limits.maxNamespaceDeclarations);
        }
        at = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = at;
      const end = TAG_END.exec(xml);
      if (!end) throw new XmlError('malformed', 'unreadable start tag');
      if (++nodes > limits.maxNodes) throw tooMany('nodes', limits.maxNodes);
      if (depth + 1 > limits.maxDepth) throw new XmlError('malformed', `elements nested deeper than ${limits.maxDepth}`);
      if (end[1] !== '/') depth++;
      i = TAG_END.lastIndex;
    }
    i = xml.indexOf('<', i);
  }
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

/** All descendant elements (not root itself), in document order. */
export function descendantElements(root: Node): Element[] {
  const out: Element[] = [];
  for (const node of walk(root)) if (isElement(node)) out.push(node);
  return out;
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
