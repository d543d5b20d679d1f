/**
 * Issue #7, finding 7: nesting depth, namespace declarations (and, for MS-MDE2 messages,
 * element count) are bounded by a linear pre-scan before the parser runs. These tests check
 * the mechanism; the cost figures are in bench/xml-amplification.js.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_XML_LIMITS, XmlError, elementsByLocalName, parseXml } from '../../src/soap/xml.js';
import { SOAP_XML_LIMITS, parseEnrollmentEnvelope } from '../../src/soap/envelope.js';
import { parseDiscoverRequest } from '../../src/soap/discovery.js';
import { buildDiscoverRequest, buildEnrollEnvelope, buildGetPoliciesEnvelope } from '../../src/soap/build.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/soap/${name}`, import.meta.url), 'utf8');

function refusal(fn: () => unknown): XmlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XmlError);
    return err as XmlError;
  }
  throw new Error('expected an XmlError');
}

const nested = (depth: number, open = '<a>', close = '</a>', inner = '') => open.repeat(depth) + inner + close.repeat(depth);
/** `perLevel` namespace declarations on each of `depth` nested elements. */
const nsPerLevel = (depth: number, perLevel = 1) =>
  Array.from({ length: depth }, (_, i) => `<a${Array.from({ length: perLevel }, (_, j) => ` xmlns:p${i}x${j}="urn:p${i}"`).join('')}>`).join('') +
  '</a>'.repeat(depth);

describe('parseXml default limits (every caller)', () => {
  it('depth: the limit itself is accepted, one more is malformed', () => {
    const max = DEFAULT_XML_LIMITS.maxDepth;
    expect(elementsByLocalName(parseXml(nested(max)), 'a')).toHaveLength(max);
    const err = refusal(() => parseXml(nested(max + 1)));
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/nested deeper than 64/);
  });

  it('depth counts a self-closing element too', () => {
    const max = DEFAULT_XML_LIMITS.maxDepth;
    expect(refusal(() => parseXml(nested(max, '<a>', '</a>', '<b/>'))).message).toMatch(/deeper/);
  });

  it('namespace declarations: counted over the whole document, declared per level or all on one element', () => {
    const max = DEFAULT_XML_LIMITS.maxNamespaceDeclarations;
    const onOne = (n: number) => `<r${Array.from({ length: n }, (_, i) => ` xmlns:p${i}="urn:p${i}"`).join('')}/>`;
    expect(parseXml(onOne(max)).documentElement!.localName).toBe('r');
    expect(refusal(() => parseXml(onOne(max + 1))).message).toMatch(/more than 512 namespace declarations/);
    const spread = (n: number) => `<r>${Array.from({ length: n }, (_, i) => `<a xmlns="urn:d${i}"/>`).join('')}</r>`;
    expect(refusal(() => parseXml(spread(max + 1))).code).toBe('malformed');
  });

  it('the pre-scan is not fooled by markup inside attribute values, comments, CDATA or processing instructions', () => {
    const hidden = nested(100, "<x xmlns:q='u'>", '</x>');
    const xml =
      `<?xml version="1.0"?><r a="${hidden.replaceAll('<', '&lt;')}" b='>/>&lt;' c = "xmlns:z='u'">` +
      `<!-- ${hidden} --><![CDATA[${hidden}]]><k xmlns = "urn:k" >text > more</k ></r>`;
    // r and k; the comment and the CDATA section; a, b, c and xmlns; 200 &lt; in a, one in b.
    const limits = { maxDepth: 2, maxNamespaceDeclarations: 1, maxNodes: 4, maxAttributes: 4, maxReferences: 201 };
    const doc = parseXml(xml, limits);
    expect(doc.documentElement!.getAttribute('c')).toBe("xmlns:z='u'");
    // ...and one more of each is refused.
    expect(refusal(() => parseXml(xml.replace('<k ', '<k><k/></k><k '), { ...limits, maxDepth: 3, maxNodes: 5 })).message).toMatch(/more than 5 nodes/);
    expect(refusal(() => parseXml(xml.replace('<k ', '<k x="1" '), limits)).message).toMatch(/more than 4 attributes/);
    expect(refusal(() => parseXml(xml.replace('<k ', '<k xmlns:y="u" '), { ...limits, maxAttributes: 5 })).message).toMatch(/more than 1 namespace/);
    expect(refusal(() => parseXml(xml.replace('text', '&amp;'), limits)).message).toMatch(/more than 201 entity or character references/);
    expect(refusal(() => parseXml(xml.replace('</k >', '</k ><!---->'), limits)).message).toMatch(/more than 4 nodes/);
    // What it cannot read is malformed (the parser would refuse it too).
    expect(refusal(() => parseXml('</a><a/>')).code).toBe('malformed');
    expect(refusal(() => parseXml('<a><!-- never closed')).code).toBe('malformed');
    expect(refusal(() => parseXml('<a b="never closed></a>')).code).toBe('malformed');
  });

  it('nodes (elements, comments, CDATA), attributes and references: 20000 each by default, fewer when asked', () => {
    const flat = `<r>${'<a/>'.repeat(5000)}</r>`;
    expect(elementsByLocalName(parseXml(flat), 'a')).toHaveLength(5000);
    expect(refusal(() => parseXml(flat, { maxNodes: 5000 })).message).toMatch(/more than 5000 nodes/);
    expect(refusal(() => parseXml(`<r>${'<!---->'.repeat(20_000)}</r>`)).message).toMatch(/more than 20000 nodes/);
    expect(refusal(() => parseXml(`<r>${'<![CDATA[]]>'.repeat(20_000)}</r>`)).message).toMatch(/more than 20000 nodes/);
    const attrs = (n: number) => `<r${Array.from({ length: n }, (_, i) => ` a${i}=""`).join('')}/>`;
    expect(parseXml(attrs(20_000)).documentElement!.attributes.length).toBe(20_000);
    expect(refusal(() => parseXml(attrs(20_001))).message).toMatch(/more than 20000 attributes/);
    expect(refusal(() => parseXml(`<r>${'&amp;'.repeat(20_001)}</r>`)).message).toMatch(/more than 20000 entity or character references/);
    // A processing instruction is refused before parsing (only the XML declaration, first, is allowed).
    expect(refusal(() => parseXml(`<r>${'<?p?>'.repeat(20_000)}</r>`)).message).toMatch(/processing instruction refused/);
    expect(parseXml('\uFEFF<?xml version="1.0"?><r/>').documentElement!.localName).toBe('r');
  });
});

describe('MS-MDE2 parsers use tighter limits', () => {
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

  it('a GetPolicies with nesting past the limit in its Body is malformed; the recorded samples pass', () => {
    for (const name of ['enroll-federated.xml', 'getpolicies-federated.xml', 'enroll-entra-jwt.xml']) {
      expect(parseEnrollmentEnvelope(fixture(name)).tokens).toHaveLength(1);
    }
    expect(parseDiscoverRequest(fixture('discover-v5.xml')).messageId).toBeTruthy();
    const ok = buildGetPoliciesEnvelope({ token });
    // Envelope > Body > GetPolicies already uses 3 levels.
    const deep = (n: number) => ok.replace('</GetPolicies>', `${nested(n, '<n>', '</n>')}</GetPolicies>`);
    expect(parseEnrollmentEnvelope(deep(SOAP_XML_LIMITS.maxDepth - 3)).message).toBe('GetPolicies');
    expect(refusal(() => parseEnrollmentEnvelope(deep(SOAP_XML_LIMITS.maxDepth - 2))).message).toMatch(/nested deeper than 32/);
    // A caller may still override them.
    expect(parseEnrollmentEnvelope(deep(40), { maxDepth: 64 }).message).toBe('GetPolicies');
  });

  it('an Enroll with a namespace declared on every level is malformed', () => {
    const xml = buildEnrollEnvelope({ token, deviceId: 'D' }).replace('</wst:RequestType>', `</wst:RequestType>${nsPerLevel(20, 3)}`);
    expect(refusal(() => parseEnrollmentEnvelope(xml)).message).toMatch(/more than 64 namespace declarations/);
    // The same shape without the declarations passes.
    expect(parseEnrollmentEnvelope(xml.replace(/ xmlns:p\d+x\d+="urn:p\d+"/g, '')).message).toBe('Enroll');
  });

  it('an Enroll padded with more than 256 elements, comments, attributes or references is malformed', () => {
    const pad = (inner: string) => buildEnrollEnvelope({ token, deviceId: 'D' }).replace('</wst:RequestType>', `</wst:RequestType><pad>${inner}</pad>`);
    expect(refusal(() => parseEnrollmentEnvelope(pad('<i/>'.repeat(256)))).message).toMatch(/more than 256 nodes/);
    expect(refusal(() => parseEnrollmentEnvelope(pad('<!---->'.repeat(256)))).message).toMatch(/more than 256 nodes/);
    expect(refusal(() => parseEnrollmentEnvelope(pad(`<i${Array.from({ length: 256 }, (_, i) => ` a${i}=""`).join('')}/>`))).message).toMatch(/more than 256 attributes/);
    expect(refusal(() => parseEnrollmentEnvelope(pad('&#65;'.repeat(257)))).message).toMatch(/more than 256 entity or character references/);
    expect(parseEnrollmentEnvelope(pad('<i/>'.repeat(200) + '&#65;'.repeat(200))).message).toBe('Enroll');
  });

  it('a Discover request with deep nesting or a namespace per level is malformed', () => {
    const good = buildDiscoverRequest({ email: 'a@contoso.test', messageId: 'urn:uuid:1' });
    expect(refusal(() => parseDiscoverRequest(good.replace('</request>', `${nested(40, '<n>', '</n>')}</request>`))).message).toMatch(/deeper/);
    expect(refusal(() => parseDiscoverRequest(good.replace('</request>', `${nsPerLevel(25, 3)}</request>`))).message).toMatch(/namespace/);
    expect(refusal(() => parseDiscoverRequest(good.replace('</request>', `${'<x/>'.repeat(300)}</request>`))).message).toMatch(/nodes/);
  });
});
